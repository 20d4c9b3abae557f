"""The commands behind `python -m bot.knowledge`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from bot.knowledge import nlu_examples
from bot.knowledge.engine import Engine
from bot.knowledge.sections import parse_sections
from bot.knowledge.store import SOURCES_DIR, SOURCES_FILE, load_knowledge
from bot.knowledge.validate import validate
from bot.settings import ROOT
from bot.taxonomy import ALL_MUNICIPALITIES, CORE_TOPICS, Audience, Municipality, Topic

SILENT_MARK = "tavs"


def validate_command(directory: Path) -> int:
    errors = validate(directory)
    for error in errors:
        print(error)
    if errors:
        print(f"\n{len(errors)} problem(s) in the knowledge base.")
        return 1
    kb = load_knowledge(directory)
    if nlu_examples.is_stale(kb):
        print(f"{nlu_examples.OUTPUT.relative_to(ROOT)} is stale: run python -m bot.knowledge nlu-examples")
        return 1
    print(f"OK: {len(kb.articles)} articles, {len(kb.sources)} sources.")
    return 0


def write_nlu_examples(directory: Path) -> int:
    """Rewrite the NLU examples generated from the articles' questions."""
    lines = nlu_examples.examples(load_knowledge(directory), nlu_examples.hand_written_examples())
    nlu_examples.OUTPUT.write_text(nlu_examples.render(lines), encoding="utf-8")
    print(f"Wrote {len(lines)} examples to {nlu_examples.OUTPUT.relative_to(ROOT)}.")
    return 0


def index(directory: Path) -> int:
    """Rewrite every source's section index from its text."""
    path = directory / SOURCES_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for source in data["sources"]:
        text = (directory / SOURCES_DIR / source["file"]).read_text(encoding="utf-8")
        source["sections"] = [{"heading": s.heading, "start": s.start, "end": s.end} for s in parse_sections(text)]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")
    print(f"Wrote the section index of {len(data['sources'])} sources to {path}.")
    return 0


def stats(directory: Path) -> int:
    """Print articles per topic and municipality; silent core cells are marked."""
    kb = load_knowledge(directory)
    counts: Counter[tuple[Topic, str]] = Counter(
        (a.topic, a.municipality.value if isinstance(a.municipality, Municipality) else a.municipality)
        for a in kb.articles
    )
    columns = [m.value for m in Municipality] + [ALL_MUNICIPALITIES]
    width = max(len(t.value) for t in Topic) + 2
    print("topic".ljust(width) + "".join(c.rjust(11) for c in columns) + "  total".rjust(8))
    for topic in Topic:
        cells = []
        for column in columns:
            count = counts[(topic, column)]
            silent = column != ALL_MUNICIPALITIES and kb.policy_is_silent(Municipality(column), topic)
            cells.append(f"0 {SILENT_MARK}" if silent and not count else str(count))
        total = sum(counts[(topic, c)] for c in columns)
        core = "*" if topic in CORE_TOPICS else " "
        print(f"{topic.value}{core}".ljust(width) + "".join(c.rjust(11) for c in cells) + str(total).rjust(8))
    totals = [sum(counts[(t, c)] for t in Topic) for c in columns]
    print("total".ljust(width) + "".join(str(t).rjust(11) for t in totals) + str(len(kb.articles)).rjust(8))
    print(
        f"\n* core topic. '0 {SILENT_MARK}': the municipality's policy says nothing about the topic;"
        " the common article answers, with a line saying so."
    )
    return 0


def ask(directory: Path, question: str, municipality: Municipality, audience: Audience | None) -> int:
    engine = Engine(load_knowledge(directory))
    result = engine.search(question, municipality, audience)
    for rank, hit in enumerate(result.hits, start=1):
        article = hit.article
        scope = f"[{article.topic.value}, {article.municipality}]"
        print(f"{rank:2}. {hit.score:6.3f}  {article.id}  {scope}  {article.title}")
    print(f"\ndecision: {result.decision.value}")
    return 0
