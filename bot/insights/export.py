"""The report as rows (section, key, name, value): for the CSV export of
the insights page and the table of `python -m bot.admin insights`. Names and
sections are Danish, as the people who read them are."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from bot.taxonomy import TOPIC_LABELS, HandoffReason, Outcome, Team, Topic

KIND_LABELS = {
    "answer": "Svar fra vidensbasen",
    "clarify": "Spurgte tilbage",
    "fallback": "Forstod ikke / intet sikkert svar",
    "out_of_scope": "Uden for emnet",
    "handoff": "Medarbejder",
    "crisis": "Krise",
    "smalltalk": "Småsnak og tak",
    "form": "Formular til medarbejder",
    "closed": "Chatten var lukket",
}
Row = tuple[str, str, str, str]


def _label(enum: type[Topic] | type[HandoffReason] | type[Team], value: str) -> str:
    try:
        member = enum(value)
    except ValueError:
        return value
    return TOPIC_LABELS[member] if isinstance(member, Topic) else member.label


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def outcome_label(code: str) -> str:
    try:
        return Outcome(code).label
    except ValueError:
        return "Ikke angivet"


def percent(share: float | None) -> str:
    """0.125 -> "12,5 %" (Danish decimal comma)."""
    return "–" if share is None else f"{share * 100:.1f} %".replace(".", ",")


def minutes(seconds: float | None) -> str:
    """Seconds as whole minutes and seconds: "3 min 20 s"."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s" if whole >= 60 else f"{whole} s"


def _summary(report: dict[str, Any]) -> Iterator[Row]:
    yield "Overblik", "period", "Periode", f"{report['from']} til {report['to']}"
    yield "Overblik", "municipality", "Kommune", report["municipality"] or "alle"
    yield "Overblik", "conversations", "Samtaler", str(report["conversations"])
    yield "Overblik", "turns", "Ture", str(report["turns"])
    yield "Overblik", "dont_know_rate", "Spørgsmål uden svar (andel)", percent(report["dont_know_rate"])
    yield "Overblik", "feedback_yes", "Svaret hjalp (ja)", str(report["feedback"]["yes"])
    yield "Overblik", "feedback_no", "Svaret hjalp ikke (nej)", str(report["feedback"]["no"])


def _turns(report: dict[str, Any]) -> Iterator[Row]:
    for day in report["per_day"]:
        yield "Pr. dag", day["date"], f"{day['date']}: samtaler", str(day["conversations"])
        yield "Pr. dag", day["date"], f"{day['date']}: ture", str(day["turns"])
    for kind, count in report["by_kind"].items():
        yield "Ture efter slags", kind, kind_label(kind), str(count)
    for article in report["top_articles"]:
        yield "Mest brugte svar", article["article_id"], article["title"], str(article["count"])
    for topic in report["top_topics"]:
        yield "Mest brugte emner", topic["topic"], _label(Topic, topic["topic"]), str(topic["count"])


def _feedback(report: dict[str, Any]) -> Iterator[Row]:
    for article in report["not_helpful"]:
        key = article["article_id"] or "ukendt"
        yield "Flest nej", key, article["title"] or "Ukendt svar", f"{article['no']} nej, {article['yes']} ja"
        for comment in article["comments"]:
            yield "Kommentarer", key, comment, ""
    for question in report["unanswered"]:
        yield "Spørgsmål uden svar", question["municipality"] or "", question["text"], str(question["count"])


def _handoffs(report: dict[str, Any]) -> Iterator[Row]:
    handoffs = report["handoffs"]
    yield "Overdragelser", "count", "Overdragelser i alt", str(handoffs["count"])
    for reason, count in handoffs["by_reason"].items():
        yield "Overdragelser efter årsag", reason, _label(HandoffReason, reason), str(count)
    for team, count in handoffs["by_team"].items():
        yield "Overdragelser efter team", team, _label(Team, team), str(count)
    yield (
        "Ventetid",
        "median_wait_s",
        "Median fra anmodning til en medarbejder tog sagen",
        minutes(handoffs["median_wait_s"]),
    )
    yield "Ventetid", "p90_wait_s", "90 % af sagerne var taget inden", minutes(handoffs["p90_wait_s"])
    yield "Ring op", "callbacks", "Anmodninger om at blive ringet op", str(handoffs["callbacks"])
    yield "Ring op", "callbacks_outside_hours", "Heraf uden for åbningstid", str(handoffs["callbacks_outside_hours"])
    for code, count in handoffs["closed_by_outcome"].items():
        yield "Lukkede sager efter resultat", code, outcome_label(code), str(count)


def rows(report: dict[str, Any]) -> list[Row]:
    return [*_summary(report), *_turns(report), *_feedback(report), *_handoffs(report)]


def _inert(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (what citizens typed may start with =)."""
    return f"'{cell}" if cell[:1] in _FORMULA_STARTS else cell


_FORMULA_STARTS = frozenset("=+-@\t\r")


def as_csv(report: dict[str, Any]) -> str:
    """Semicolon-separated, as Danish spreadsheets read it."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Afsnit", "Nøgle", "Navn", "Værdi"])
    writer.writerows([_inert(cell) for cell in row] for row in rows(report))
    return out.getvalue()


def as_table(report: dict[str, Any]) -> str:
    """Plain text, one block per section."""
    lines: list[str] = []
    section = None
    for part, _key, name, value in rows(report):
        if part != section:
            lines += ["", part, "-" * len(part)]
            section = part
        lines.append(f"  {name:<60} {value}".rstrip())
    return "\n".join(lines).lstrip("\n") + "\n"
