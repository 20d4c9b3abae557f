"""Benchmark the retrieval engine on the development question set.

    make bench-kb        (= python -m bench.kb)

Reports top-1 and top-3 accuracy, what the engine decides (answer, clarify,
none) for in-scope questions, the share of out-of-scope questions that get
`none`, and retrieval latency. Targets (issue 3): top-1 >= 0.85,
top-3 >= 0.95, out-of-scope none >= 0.90, p95 <= 5 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge.engine import Decision, Engine, SearchResult
from bot.knowledge.store import load_knowledge
from bot.settings import get_settings
from bot.taxonomy import Audience, Municipality

DEV_SET = Path(__file__).parent / "data" / "kb_dev.yml"
TARGETS = {"top1": 0.85, "top3": 0.95, "oos_none": 0.90}
P95_TARGET_MS = 5.0


@dataclass(frozen=True)
class Question:
    text: str
    municipality: Municipality
    audience: Audience | None
    answers: frozenset[str]


def load_dev_set(path: Path = DEV_SET) -> tuple[list[Question], list[Question]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def parse(item: dict) -> Question:
        audience = item.get("audience")
        return Question(
            text=item["text"],
            municipality=Municipality(item["municipality"]),
            audience=Audience(audience) if audience else None,
            answers=frozenset(item.get("answers", ())),
        )

    return [parse(q) for q in data["questions"]], [parse(q) for q in data["out_of_scope"]]


def question_metadata(question: Question) -> dict[str, str]:
    """The chat API metadata a page with this municipality and audience sends."""
    metadata = {"municipality": question.municipality.value}
    if question.audience:
        metadata["audience"] = question.audience.value
    return metadata


def timed_search(engine: Engine, question: Question) -> tuple[SearchResult, float]:
    started = time.perf_counter()
    result = engine.search(question.text, question.municipality, question.audience)
    return result, (time.perf_counter() - started) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def evaluate(engine: Engine, questions: list[Question], out_of_scope: list[Question]) -> dict[str, float]:
    latencies: list[float] = []
    top1 = top3 = 0
    decisions: Counter[str] = Counter()
    misses: list[str] = []
    for question in questions:
        result, ms = timed_search(engine, question)
        latencies.append(ms)
        ids = [hit.article.id for hit in result.hits]
        top1 += bool(ids[:1] and ids[0] in question.answers)
        top3 += bool(question.answers & set(ids[:3]))
        correct = bool(ids[:1] and ids[0] in question.answers)
        decisions[f"{result.decision.value}_{'right' if correct else 'wrong'}"] += 1
        if not correct:
            misses.append(
                f"  {question.municipality.value:9} {question.text!r}: got {ids[:1]}, want {sorted(question.answers)}"
            )
    nlu_sure_right = sum(
        engine.search(q.text, q.municipality, q.audience, nlu_sure=True).decision is Decision.ANSWER
        and engine.search(q.text, q.municipality, q.audience).hits[0].article.id in q.answers
        for q in questions
    )
    oos_none = 0
    false_answers: list[str] = []
    for question in out_of_scope:
        result, ms = timed_search(engine, question)
        latencies.append(ms)
        if result.decision is Decision.NONE:
            oos_none += 1
        else:
            best = result.best.article.id if result.best else None
            false_answers.append(
                f"  {question.text!r}: {result.decision.value} {best} {result.best.score if result.best else 0:.2f}"
            )
    n = len(questions)
    return {
        "questions": n,
        "top1": top1 / n,
        "top3": top3 / n,
        "answer_right": decisions["answer_right"] / n,
        "answer_wrong": decisions["answer_wrong"] / n,
        "clarify": (decisions["clarify_right"] + decisions["clarify_wrong"]) / n,
        "answer_right_nlu_sure": nlu_sure_right / n,
        "none_in_scope": (decisions["none_right"] + decisions["none_wrong"]) / n,
        "out_of_scope": len(out_of_scope),
        "oos_none": oos_none / len(out_of_scope),
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "max_ms": max(latencies),
        "_misses": misses,  # type: ignore[dict-item]
        "_false_answers": false_answers,  # type: ignore[dict-item]
    }


def report(results: dict, verbose: bool) -> bool:
    print(f"Development set: {results['questions']} questions, {results['out_of_scope']} out of scope")
    print(f"  top-1 accuracy        {results['top1']:.3f}   (target >= {TARGETS['top1']})")
    print(f"  top-3 accuracy        {results['top3']:.3f}   (target >= {TARGETS['top3']})")
    print(
        f"  decisions in scope    answer+right {results['answer_right']:.3f}, "
        f"answer+wrong {results['answer_wrong']:.3f}, clarify {results['clarify']:.3f}, "
        f"none {results['none_in_scope']:.3f}"
    )
    print(f"  answer+right when the NLU is sure it is a question: {results['answer_right_nlu_sure']:.3f}")
    print(f"  out of scope -> none  {results['oos_none']:.3f}   (target >= {TARGETS['oos_none']})")
    print(
        f"  latency               p50 {results['p50_ms']:.2f} ms, p95 {results['p95_ms']:.2f} ms "
        f"(target <= {P95_TARGET_MS}), max {results['max_ms']:.2f} ms"
    )
    if verbose:
        print("\nWrong top-1:", *results["_misses"], sep="\n")
        print("\nOut of scope but not none:", *results["_false_answers"], sep="\n")
    met = all(results[key] >= target for key, target in TARGETS.items()) and results["p95_ms"] <= P95_TARGET_MS
    print("\nAll targets met." if met else "\nSome targets are not met.")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kb", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    args = parser.parse_args(argv)
    engine = Engine(load_knowledge(get_settings().knowledge_dir))
    questions, out_of_scope = load_dev_set()
    for question in questions[:20]:  # warm caches before timing
        engine.search(question.text, question.municipality)
    report(evaluate(engine, questions, out_of_scope), args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
