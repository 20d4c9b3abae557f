"""Time a clean `rasa train` (issue 21: at most five minutes on two cores).

    make bench-train        # or: .venv/bin/python -m bench.train

Trains the model from config.yml, domain.yml and data/ exactly as
`make model` does, but into a temporary folder and with an empty Rasa
training cache, so nothing from an earlier train is reused. Prints the wall
time and the CPU time of the training process, and writes them to
test-artifacts/bench/train.json. The project's own model is not touched.
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bot.model import fingerprint, train
from bot.settings import ROOT

OUT = ROOT / "test-artifacts" / "bench" / "train.json"
#: Rasa reads its training cache's folder from this variable (rasa.engine.caching).
CACHE_ENV = "RASA_CACHE_DIRECTORY"


def clean_train() -> dict[str, float]:
    """Train once with an empty cache; return wall and CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-train-") as folder:
        os.environ[CACHE_ENV] = str(Path(folder) / "cache")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        train(models_dir=Path(folder) / "models")
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}


def main() -> None:
    result = {
        "command": "make bench-train",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "fingerprint": fingerprint(),
        **clean_train(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"Clean train on {result['cores']} cores: {result['wall_s']:.0f} s wall, {result['cpu_s']:.0f} s CPU")
    print(f"(target: at most 300 s wall). Written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
