"""Rasa's intent cross-validation as both NLU benchmarks run it.

No imports beyond the standard library: bench.nlu runs in our environment
and starts Rasa in its own, bench.nlu_blend runs inside Rasa's.
"""

from __future__ import annotations

from pathlib import Path

#: Rasa shuffles the folds with NumPy's global generator and no seed; seeding
#: it gives every run the same folds, so two configurations compare fairly.
SEED = 42


def cross_validation_args(folds: int, out: Path) -> list[str]:
    """`rasa` command-line arguments: cross-validate data/nlu with config.yml."""
    return [
        "test",
        "nlu",
        "--nlu",
        "data/nlu",
        "--config",
        "config.yml",
        "--cross-validation",
        "--folds",
        str(folds),
        "--out",
        str(out),
    ]
