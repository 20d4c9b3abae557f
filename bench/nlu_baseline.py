"""Cross-validate the intent classifier in a minute instead of an hour.

    make bench-nlu-baseline     (runs in the Rasa environment)

The 5-fold cross-validation of `make bench-nlu` runs the whole Rasa
pipeline and trains DIETClassifier in every fold: about an hour on two
cores. The intent is a weighted mean of DIET's confidences and those of
a scikit-learn model of our own (`intent_model` in bot/nlu/components.py).
This cross-validates that linear model alone (stratified, 5 folds) on
data/nlu, and lists which examples each intent loses to which: the quick
way to see what a change to data/nlu does. Rasa's folds differ and DIET
is left out, so `make bench-nlu` gives the number to report.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np
from rasa.shared.nlu.training_data.loading import load_data
from sklearn.metrics import classification_report, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from bot.nlu.components import intent_model

NLU_DATA = "data/nlu"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nlu_baseline", description=__doc__.splitlines()[0])
    parser.add_argument("--nlu", default=NLU_DATA)
    parser.add_argument("--show", nargs="*", default=[], metavar="INTENT", help="list the misses of these intents")
    args = parser.parse_args(argv)
    examples = load_data(args.nlu).intent_examples
    texts = np.array([e.get("text") for e in examples])  # the vectorizers lower-case
    intents = np.array([e.get("intent") for e in examples])
    folds = StratifiedKFold(5, shuffle=True, random_state=42)
    predicted = cross_val_predict(intent_model(), texts, intents, cv=folds)
    macro = f1_score(intents, predicted, average="macro")
    print(f"Intent classifier, 5 folds, {len(texts)} examples: macro-F1 {macro:.3f}")
    print(classification_report(intents, predicted, digits=3))
    confusions = Counter((want, got) for want, got in zip(intents, predicted, strict=True) if want != got)
    print("Most confused: " + ", ".join(f"{want} -> {got} {n}" for (want, got), n in confusions.most_common(10)))
    for intent in args.show:
        print(f"\nMisses of {intent}:")
        for text, want, got in zip(texts, intents, predicted, strict=True):
            if want != got and intent in (want, got):
                print(f"  {want} -> {got}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
