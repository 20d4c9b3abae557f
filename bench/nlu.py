"""Benchmark the conversation: intent cross-validation and answers end to end.

    make bench-nlu                  (= python -m bench.nlu)
    python -m bench.nlu --skip-cv   (only the end-to-end part)
    python -m bench.nlu --skip-e2e  (only the cross-validation)

1. `rasa test nlu --cross-validation --folds 5` on data/nlu: intent macro-F1
   (target >= 0.92) and the per-intent F1 of the weakest intents.
2. The knowledge base's development questions sent through POST /api/chat to
   the three real processes (started on free ports with the trained model):
   how often the turn is an answer with the right topic (target >= 0.85) and
   the right article, and turn latency. The crisis reply counts as right for
   questions whose article is the crisis article: it gives the same
   emergency numbers, by design instead of an answer. Reported apart: turns
   that give the right article as the general rule beside a caseworker offer
   (a question read as the user's own case or a complaint); the accuracy on
   questions that do not nearly repeat an article's own question (the NLU
   model learns from those); and how many out-of-scope development questions
   get an answer. Every turn that missed is written to
   results/bench-nlu/misses.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import Counter

import httpx
from rapidfuzz import fuzz, process

from bench.chat import Turn, new_sender, running_chat, send
from bench.kb import Question, load_dev_set, percentile, question_metadata
from bench.rasa_cv import SEED, cross_validation_args
from bot.knowledge.nlu_examples import is_crisis_article
from bot.knowledge.store import KnowledgeBase, load_knowledge
from bot.model import RASA, RASA_QUIET_ENV
from bot.settings import ROOT, get_settings

RESULTS = ROOT / "results" / "bench-nlu"
F1_TARGET = 0.92
TOPIC_TARGET = 0.85
#: rapidfuzz ratio from which a development question repeats an article's question.
REPEAT_RATIO = 85


#: Rasa with bench.rasa_cv's seeded folds, so two configurations compare fairly.
SEEDED_RASA = f"import numpy; numpy.random.seed({SEED}); from rasa.__main__ import main; main()"


def cross_validate(folds: int) -> dict:
    out = RESULTS / "cross-validation"
    subprocess.run(
        [str(RASA.with_name("python")), "-c", SEEDED_RASA, *cross_validation_args(folds, out)],
        cwd=ROOT,
        check=True,
        env={**os.environ, **RASA_QUIET_ENV},
    )
    return json.loads((out / "intent_report.json").read_text())


def end_to_end() -> dict:
    kb = load_knowledge(get_settings().knowledge_dir)
    topic_of = {a.id: a.topic.value for a in kb.articles}
    # The crisis reply gives the emergency numbers instead of an answer, by
    # design; for a question whose article is the crisis article it is right.
    crisis_articles = {a.id for a in kb.articles if is_crisis_article(a)}
    questions, out_of_scope = load_dev_set()
    repeats = _repeats_of_knowledge_questions(kb, questions)
    kinds: Counter[str] = Counter()
    right_topic = right_article = as_general_rule = independent_right = oos_answered = 0
    misses: list[dict] = []
    latencies = []
    with running_chat("bench-nlu") as client:
        for question in questions:
            turn = _chat(client, question)
            latencies.append(turn.ms)
            custom = turn.custom
            kinds[turn.kind] += 1
            expected_topics = {topic_of[i] for i in question.answers}
            answered = (turn.kind == "answer" and custom.get("topic") in expected_topics) or (
                turn.kind == "crisis" and bool(question.answers & crisis_articles)
            )
            right_topic += answered
            independent_right += answered and question.text not in repeats
            right_article += turn.kind == "answer" and custom.get("article_id") in question.answers
            general = [m["custom"] for m in turn.messages if "article_id" in (m.get("custom") or {})]
            as_general_rule += turn.kind == "handoff" and any(g["article_id"] in question.answers for g in general)
            if not answered:
                misses.append({"text": question.text, "expected": sorted(question.answers), "got": custom})
        for question in out_of_scope:
            turn = _chat(client, question)
            oos_answered += any((m.get("custom") or {}).get("kind") == "answer" for m in turn.messages)
    n = len(questions)
    (RESULTS / "misses.json").write_text(json.dumps(misses, ensure_ascii=False, indent=1), encoding="utf-8")
    return {
        "questions": n,
        "topic_accuracy": right_topic / n,
        "independent": n - len(repeats),
        "independent_topic_accuracy": independent_right / (n - len(repeats)),
        "article_accuracy": right_article / n,
        "general_rule_share": as_general_rule / n,
        "kinds": {k: v / n for k, v in kinds.most_common()},
        "out_of_scope": len(out_of_scope),
        "out_of_scope_answered": oos_answered / len(out_of_scope),
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
    }


def _chat(client: httpx.Client, question: Question) -> Turn:
    return send(client, new_sender(), question.text, question_metadata(question))


def _repeats_of_knowledge_questions(kb: KnowledgeBase, questions: list[Question]) -> set[str]:
    """Development questions that nearly repeat an article's own question.

    The NLU model learns from the articles' questions
    (data/nlu/knowledge_questions.yml), so accuracy is also reported on the
    development questions that do not repeat one.
    """
    asked = [q.lower() for article in kb.articles for q in article.questions]
    return {
        q.text
        for q in questions
        if process.extractOne(q.text.lower(), asked, scorer=fuzz.ratio, score_cutoff=REPEAT_RATIO) is not None
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nlu", description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-cv", action="store_true", help="only the end-to-end run")
    parser.add_argument("--skip-e2e", action="store_true", help="only the cross-validation")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.skip_cv:
        report = cross_validate(args.folds)
        macro = report["macro avg"]["f1-score"]
        intents = {k: v for k, v in report.items() if isinstance(v, dict) and "support" in v and "avg" not in k}
        weakest = sorted(intents.items(), key=lambda kv: kv[1]["f1-score"])[:5]
        print(f"Intent cross-validation ({args.folds} folds): macro-F1 {macro:.3f} (target >= {F1_TARGET})")
        print("  weakest: " + ", ".join(f"{name} {v['f1-score']:.3f}" for name, v in weakest))
    if args.skip_e2e:
        return 0
    e2e = end_to_end()
    print(f"End to end through /api/chat: {e2e['questions']} development questions")
    print(f"  right topic answered  {e2e['topic_accuracy']:.3f} (target >= {TOPIC_TARGET})")
    print(
        f"  right topic, on the {e2e['independent']} questions that repeat no article question"
        f"  {e2e['independent_topic_accuracy']:.3f}"
    )
    print(f"  right article         {e2e['article_accuracy']:.3f}")
    print(f"  right article given as the general rule beside a caseworker offer  {e2e['general_rule_share']:.3f}")
    print("  turn kinds            " + ", ".join(f"{k} {v:.3f}" for k, v in e2e["kinds"].items()))
    print(f"  out-of-scope questions ({e2e['out_of_scope']}) given an answer  {e2e['out_of_scope_answered']:.3f}")
    print(f"  turn latency          p50 {e2e['p50_ms']:.0f} ms, p95 {e2e['p95_ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
