"""The insights page's charts: SVG drawn on our server with pygal.

Each chart is put in the page as an <img> with a data: URL, so the browser
loads nothing from elsewhere and runs no script (an SVG shown as an image
never runs one), and the page's Content-Security-Policy stays as it is.
Each chart has a table with the same numbers beside it, and an alt text
that says so.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import pygal
from pygal.style import Style

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
#: The caseworker app's colours (caseworker.css): dark blue, dark orange, green, dark red.
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#4a4a4a",
    colors=("#0b4f8a", "#c25400", "#1d5e20", "#a4000f", "#5b3a8c"),
    opacity="1",
    opacity_hover="1",
    transition="none",
    font_family=FONT,
    label_font_size=14,
    major_label_font_size=14,
    legend_font_size=15,
    value_font_size=14,
    title_font_size=16,
    no_data_font_size=20,
    value_colors=("#ffffff",),
)
_COMMON = {
    "style": STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "legend_at_bottom": True,
    "no_data_text": "Ingen data i perioden",
    "height": 360,
    "width": 720,
    "show_y_guides": True,
}


def _as_image(chart: pygal.Graph) -> str:
    svg: str = chart.render(is_unicode=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def per_day(days: Sequence[str], conversations: Sequence[int], turns: Sequence[int]) -> str:
    """Conversations and turns per day, as bars side by side."""
    chart = pygal.Bar(**_COMMON, x_label_rotation=-45 if len(days) > 10 else 0)
    chart.x_labels = days
    chart.add("Samtaler", list(conversations))
    chart.add("Ture", list(turns))
    return _as_image(chart)


def danish_number(value: float) -> str:
    """12.5 -> "12,5"; whole numbers without decimals."""
    return f"{value:g}".replace(".", ",")


def shares(labels: Sequence[str], values: Sequence[float], series: str, unit: str = "") -> str:
    """One value per category as horizontal bars, the first at the top
    (share of turns by kind, handoffs by reason)."""
    chart = pygal.HorizontalBar(
        **_COMMON,
        show_legend=False,
        print_values=True,
        print_values_position="center",
        formatter=lambda value: f"{danish_number(value)}{unit}",
    )
    chart.x_labels = list(reversed(labels))
    chart.add(series, list(reversed(values)))
    return _as_image(chart)
