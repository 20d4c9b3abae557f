"""Choose the linear model's weight in the intent confidence.

    make bench-nlu-blend      (runs in the Rasa environment, about 50 minutes)

`LinearIntentClassifier` ranks the intents by a weighted mean of DIET's
confidences and its own logistic regression's probabilities
(`linear_weight` in config.yml). This runs Rasa's cross-validation with the
folds of `make bench-nlu` (bench/rasa_cv.py), keeps both models'
confidences for every held-out example, and reports the intent macro-F1
each weight gives: one cross-validation instead of one per weight. It
skips Rasa's evaluation on the training folds, which no report here uses.
A weight also moves the confidences the dialogue acts on (the
FallbackClassifier, `NLU_SURE`), so check a new one end to end with
`python -m bench.nlu --skip-cv`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy
import rasa.nlu.test as rasa_test
from rasa.__main__ import main as rasa_main
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from sklearn.metrics import classification_report

from bench.rasa_cv import SEED, cross_validation_args
from bot.nlu import components

#: Relative to the project directory, like Rasa's own paths (bot.settings
#: needs our environment's pydantic).
RESULTS = Path("results/bench-nlu")
WEIGHTS = (0.0, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0)


@dataclass
class HeldOut:
    """Both models' confidences for one held-out example."""

    intent: str
    diet: dict[str, float]
    linear: dict[str, float]

    def predicted(self, weight: float) -> str:
        return max(self.linear, key=lambda name: components.blend(self.linear[name], self.diet.get(name), weight))


@dataclass
class Recorder:
    """Records, inside Rasa's cross-validation, what each model said."""

    held_out: list[HeldOut] = field(default_factory=list)
    intent_of: dict[str, str] = field(default_factory=dict)

    def install(self) -> None:
        recorder = self
        confidences = components.LinearIntentClassifier.confidences
        combine = rasa_test.combine_result

        def recording(
            classifier: components.LinearIntentClassifier, messages: list[Message]
        ) -> list[tuple[dict[str, float], dict[str, float]]]:
            found = confidences(classifier, messages)
            for message, (diet, linear) in zip(messages, found, strict=True):
                recorder.held_out.append(HeldOut(recorder.intent_of[message.get(TEXT) or ""], diet, linear))
            return found

        async def test_folds_only(*args: Any) -> Any:
            # cross_validate passes the result lists only for a test fold.
            metrics, data, test_fold = args[:3], args[4], len(args) > 5
            if not test_fold:
                return metrics
            recorder.intent_of = {e.get(TEXT): e.get(INTENT) for e in data.intent_examples}
            return await combine(*args)

        # The classifier itself runs unchanged; only what it reads is recorded.
        components.LinearIntentClassifier.confidences = recording  # type: ignore[method-assign]
        rasa_test.combine_result = test_folds_only


def report(held_out: list[HeldOut], weight: float) -> dict:
    return classification_report(
        [h.intent for h in held_out], [h.predicted(weight) for h in held_out], output_dict=True, zero_division=0
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nlu_blend", description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    recorder = Recorder()
    recorder.install()
    numpy.random.seed(SEED)
    out = RESULTS / "blend"
    sys.argv = ["rasa", *cross_validation_args(args.folds, out)]
    rasa_main()
    configured = json.loads((out / "intent_report.json").read_text())["macro avg"]["f1-score"]
    scores = {weight: report(recorder.held_out, weight)["macro avg"]["f1-score"] for weight in WEIGHTS}
    (RESULTS / "blend.json").write_text(json.dumps({str(w): s for w, s in scores.items()}, indent=1))
    print(f"Intent macro-F1 by linear_weight, {args.folds} folds, {len(recorder.held_out)} held-out examples:")
    for weight, score in scores.items():
        print(f"  {weight:.2f}  {score:.3f}")
    print(f"Rasa's own report, with the weight in config.yml: {configured:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
