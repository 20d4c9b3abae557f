"""Imports point down: storage and taxonomy at the bottom, routes at the top.

Each module of bot/ and actions/ belongs to a layer (LAYERS, bottom first)
and may import only from its own layer or the ones below. A new module must
be given a layer here; an import that points up fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

from bot.settings import ROOT

#: Module name prefixes per layer, bottom first.
LAYERS: tuple[tuple[str, ...], ...] = (
    # Facts every part shares, and our database.
    (
        "bot.settings",
        "bot.taxonomy",
        "bot.opening_hours",
        "bot.privacy",
        "bot.safety",
        "bot.logs",
        "bot.storage",
        "bot.keep_alive",
    ),
    # What the assistant knows and does, independent of how it talks.
    ("bot.knowledge", "bot.handoff", "bot.nlu", "bot.model"),
    # What to say.
    ("bot.dialogue",),
    # What happened: turn records, feedback, the figures, the maintenance switch.
    ("bot.insights",),
    # The edges: Rasa's actions, the front door's parts, the commands.
    (
        "actions",
        "bot.api",
        "bot.caseworker",
        "bot.web",
        "bot.admin",
        "bot.stack",
        "bot.action_server",
        "bot.rasa_channel",
        "bot.rasa_server",
        "bot.rasa_tracker_store",
        "bot.rasa_lock_store",
    ),
    # The app itself, which assembles the edges.
    ("bot.api.main",),
)


def layer_of(module: str) -> int:
    """The highest layer whose prefix names the module (bot.api.main is above bot.api)."""
    found = [i for i, prefixes in enumerate(LAYERS) for p in prefixes if module == p or module.startswith(p + ".")]
    assert found, f"{module} has no layer in tests/test_layers.py"
    return max(found)


def our_modules() -> dict[str, Path]:
    files = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "actions").rglob("*.py")]
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p for p in files}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.split(".")[0] in ("bot", "actions")}


def test_every_import_points_down():
    upward = [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, path in our_modules().items()
        if module not in ("bot", "actions")
        for target in imports_of(path)
        if layer_of(target) > layer_of(module)
    ]
    assert not upward, "\n".join(upward)


def test_the_check_can_fail():
    assert layer_of("bot.api.main") > layer_of("bot.api.state") > layer_of("bot.dialogue.turns")
    assert layer_of("bot.storage.models") < layer_of("bot.handoff.service")
