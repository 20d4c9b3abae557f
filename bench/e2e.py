"""Answer quality end to end: single questions and whole conversations.

    make bench-e2e      (= python -m bench.e2e)

Both development sets go through POST /api/chat to the three real processes
(started with the trained model on free ports, see bench/chat.py):

- bench/data/kb_dev.yml: every question in a new conversation, with the
  page's municipality and audience as metadata;
- bench/data/conversations_dev.yml: 2-4 turn conversations with
  follow-ups, municipality and audience switches, everyday wording, long
  messages, questions the knowledge base cannot answer, English.

It prints right topic and right article (single questions, every
conversation turn, and last turns apart), the clarify and fallback rates
on answerable questions, how many out-of-scope questions get an answer,
whether crisis wording is caught, and turn latency. Targets (issue 20):
right topic >= 0.93 on single questions and >= 0.90 on conversation
turns, clarify and fallback <= 0.03 on answerable questions, out of scope
answered <= 0.03, every crisis caught. Every turn that missed is written
to results/bench-e2e/misses.json (misses-dialogue-only.json with --dialogue-only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import yaml

from bench.chat import Turn, new_sender, running_chat, send
from bench.dialogue_only import DialogueOnly
from bench.kb import Question, load_dev_set, percentile, question_metadata
from bot.knowledge.engine import Engine
from bot.knowledge.nlu_examples import is_crisis_article
from bot.knowledge.store import KnowledgeBase, load_knowledge
from bot.settings import ROOT, get_settings
from bot.taxonomy import Audience, Municipality

CONVERSATIONS = Path(__file__).parent / "data" / "conversations_dev.yml"
RESULTS = ROOT / "results" / "bench-e2e"
TARGETS = {"single_topic": 0.93, "conversation_topic": 0.90}
MAX_RATES = {"clarify": 0.03, "fallback": 0.03, "out_of_scope_answered": 0.03}
#: Kinds a turn may expect instead of an answer (see conversations_dev.yml).
NO_ANSWER = "no_answer"
ENGLISH = "english"


@dataclass(frozen=True)
class ExpectedTurn:
    text: str
    answers: frozenset[str] = frozenset()
    kind: str | None = None
    #: The answer must be for this municipality (after a switch).
    municipality: Municipality | None = None


@dataclass(frozen=True)
class Conversation:
    id: str
    municipality: Municipality | None
    audience: Audience | None
    turns: tuple[ExpectedTurn, ...]

    def metadata(self) -> dict[str, str]:
        """What the page sends with every message."""
        metadata = {"municipality": self.municipality.value} if self.municipality else {}
        return {**metadata, **({"audience": self.audience.value} if self.audience else {})}


def load_conversations(path: Path = CONVERSATIONS) -> list[Conversation]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Conversation(
            id=item["id"],
            municipality=Municipality(item["municipality"]) if item.get("municipality") else None,
            audience=Audience(item["audience"]) if item.get("audience") else None,
            turns=tuple(
                ExpectedTurn(
                    text=turn["text"],
                    answers=frozenset(turn.get("answers", ())),
                    kind=turn.get("kind"),
                    municipality=Municipality(turn["municipality"]) if turn.get("municipality") else None,
                )
                for turn in item["turns"]
            ),
        )
        for item in data["conversations"]
    ]


@dataclass
class Tally:
    """Outcomes of one group of turns."""

    turns: int = 0
    right_topic: int = 0
    right_article: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, topic: bool, article: bool) -> None:
        self.turns += 1
        self.right_topic += topic
        self.right_article += article
        self.kinds[kind] += 1

    def share(self, count: int) -> float:
        return count / self.turns if self.turns else 0.0


@dataclass
class Results:
    single: Tally = field(default_factory=Tally)
    conversation: Tally = field(default_factory=Tally)
    last_turns: Tally = field(default_factory=Tally)
    #: Every answerable question and conversation turn.
    answerable: Tally = field(default_factory=Tally)
    out_of_scope: Tally = field(default_factory=Tally)
    #: Other expected kinds (crisis, no_answer, english, ...): [right, all].
    expected_kinds: dict[str, list[int]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    misses: list[dict] = field(default_factory=list)

    def expect(self, kind: str, right: bool) -> None:
        counts = self.expected_kinds.setdefault(kind, [0, 0])
        counts[0] += right
        counts[1] += 1


class Judge:
    """Whether a turn got what was expected, from the knowledge base's topics."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.topic_of = {a.id: a.topic.value for a in kb.articles}
        self.crisis_articles = {a.id for a in kb.articles if is_crisis_article(a)}

    def answered(self, turn: Turn, expected: ExpectedTurn) -> tuple[bool, bool]:
        """(right topic, right article) for a turn that expects an answer. The
        crisis reply is right for the crisis article: it gives the same numbers."""
        if turn.kind == "crisis":
            right = bool(expected.answers & self.crisis_articles)
            return right, right
        custom = turn.custom
        where = expected.municipality is None or custom.get("municipality") == expected.municipality.value
        topics = {self.topic_of[i] for i in expected.answers}
        is_answer = turn.kind == "answer" and where
        return is_answer and custom.get("topic") in topics, is_answer and custom.get("article_id") in expected.answers

    @staticmethod
    def got_kind(turn: Turn, kind: str) -> bool:
        if kind == NO_ANSWER:
            return turn.kind in ("fallback", "handoff") and "en" not in turn.languages
        if kind == ENGLISH:
            return "en" in turn.languages
        return turn.kind == kind


def _record(results: Results, judge: Judge, turn: Turn, expected: ExpectedTurn, group: list[Tally]) -> None:
    results.latencies.append(turn.ms)
    if expected.answers:
        topic, article = judge.answered(turn, expected)
        for tally in [*group, results.answerable]:
            tally.add(turn.kind, topic, article)
        right = topic
    elif expected.kind == "out_of_scope":
        right = turn.kind != "answer"
        results.out_of_scope.add(turn.kind, right, right)
    else:
        right = judge.got_kind(turn, expected.kind or "")
        results.expect(expected.kind or "", right)
    if not right:
        results.misses.append(
            {"text": expected.text, "expected": sorted(expected.answers) or expected.kind, "got": turn.custom}
        )


def _single(text: str, answers: frozenset[str], kind: str | None = None) -> ExpectedTurn:
    return ExpectedTurn(text=text, answers=answers, kind=kind)


#: Sends a message (sender, text, metadata) and returns the assistant's turn.
Chat = Callable[[str, str, dict[str, str]], Turn]


def run_single(chat: Chat, judge: Judge, results: Results) -> None:
    questions, out_of_scope = load_dev_set()
    for question in questions:
        turn = _ask(chat, question)
        _record(results, judge, turn, _single(question.text, question.answers), [results.single])
        if question.answers & judge.crisis_articles:
            results.expect("crisis", turn.kind == "crisis" or turn.custom.get("article_id") in question.answers)
    for question in out_of_scope:
        _record(results, judge, _ask(chat, question), _single(question.text, frozenset(), "out_of_scope"), [])


def _ask(chat: Chat, question: Question) -> Turn:
    return chat(new_sender(), question.text, question_metadata(question))


def run_conversations(chat: Chat, judge: Judge, results: Results) -> None:
    for conversation in load_conversations():
        sender = new_sender()
        for n, expected in enumerate(conversation.turns, start=1):
            turn = chat(sender, expected.text, conversation.metadata())
            last = n == len(conversation.turns)
            group = [results.conversation, *([results.last_turns] if last else [])]
            _record(results, judge, turn, expected, group)


def evaluate(chat: Chat, kb: KnowledgeBase) -> Results:
    judge = Judge(kb)
    results = Results()
    run_single(chat, judge, results)
    run_conversations(chat, judge, results)
    return results


def _line(label: str, value: float, target: str = "") -> str:
    return f"  {label:<44} {value:.3f}" + (f"   ({target})" if target else "")


def report(results: Results) -> bool:
    single, conv, last, answerable = results.single, results.conversation, results.last_turns, results.answerable
    rates = {
        "clarify": answerable.share(answerable.kinds["clarify"]),
        "fallback": answerable.share(answerable.kinds["fallback"]),
        "out_of_scope_answered": results.out_of_scope.share(results.out_of_scope.kinds["answer"]),
    }
    print(f"Single questions: {single.turns} answerable")
    print(_line("right topic", single.share(single.right_topic), f"target >= {TARGETS['single_topic']}"))
    print(_line("right article", single.share(single.right_article)))
    print(f"Conversations: {conv.turns} answerable turns, {last.turns} of them last turns")
    print(_line("right topic, every turn", conv.share(conv.right_topic), f"target >= {TARGETS['conversation_topic']}"))
    print(_line("right topic, last turns", last.share(last.right_topic)))
    print(_line("right article, every turn", conv.share(conv.right_article)))
    print(_line("right article, last turns", last.share(last.right_article)))
    print(f"Answerable questions and turns: {answerable.turns}")
    print(_line("clarify", rates["clarify"], f"target <= {MAX_RATES['clarify']}"))
    print(_line("fallback", rates["fallback"], f"target <= {MAX_RATES['fallback']}"))
    print("  kinds: " + ", ".join(f"{k} {answerable.share(v):.3f}" for k, v in answerable.kinds.most_common()))
    oos = results.out_of_scope
    print(_line(f"out of scope ({oos.turns}) answered", rates["out_of_scope_answered"], "target <= 0.03"))
    for kind, (right, total) in sorted(results.expected_kinds.items()):
        print(f"  {kind + ' as expected':<44} {right}/{total}")
    print(
        f"Turn latency: p50 {statistics.median(results.latencies):.0f} ms, "
        f"p95 {percentile(results.latencies, 0.95):.0f} ms"
    )
    crisis_right, crisis_all = results.expected_kinds.get("crisis", [0, 0])
    met = (
        single.share(single.right_topic) >= TARGETS["single_topic"]
        and conv.share(conv.right_topic) >= TARGETS["conversation_topic"]
        and all(rates[name] <= limit for name, limit in MAX_RATES.items())
        and crisis_right == crisis_all
    )
    print("\nAll targets met." if met else "\nSome targets are not met.")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dialogue-only",
        action="store_true",
        help="in seconds, without Rasa: every message read as a sure question (bench/dialogue_only.py)",
    )
    args = parser.parse_args(argv)
    kb = load_knowledge(get_settings().knowledge_dir)
    if args.dialogue_only:
        results = evaluate(DialogueOnly(Engine(kb)), kb)
    else:
        with running_chat("bench-e2e") as client:
            results = evaluate(partial(send, client), kb)
    RESULTS.mkdir(parents=True, exist_ok=True)
    misses = RESULTS / ("misses-dialogue-only.json" if args.dialogue_only else "misses.json")
    misses.write_text(json.dumps(results.misses, ensure_ascii=False, indent=1), encoding="utf-8")
    report(results)
    print(f"Misses: {misses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
