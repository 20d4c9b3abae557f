"""Train the Rasa model only when config, domain or data changed.

    python -m bot.model          # train if stale, print the model path
    python -m bot.model --path   # print the model path, fail if it is missing

The model is named after a fingerprint (SHA-256) of config.yml, domain.yml,
everything under data/, our NLU component (bot/nlu/) and the Rasa version,
so a stale model is never loaded and an unchanged project is never retrained.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from bot.settings import ROOT, get_settings

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
TRAINING_INPUTS = ("config.yml", "domain.yml", "data", "bot/nlu")
#: Environment for every Rasa process: no telemetry, no TensorFlow chatter.
RASA_QUIET_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def _input_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in TRAINING_INPUTS:
        path = root / name
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts))
        else:
            files.append(path)
    return files


def rasa_version(root: Path = ROOT) -> str:
    lock = (root / "requirements" / "rasa.txt").read_text(encoding="utf-8")
    return next(line for line in lock.splitlines() if line.startswith("rasa=="))


def fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256(rasa_version(root).encode())
    for path in _input_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(root: Path = ROOT, models_dir: Path | None = None) -> Path:
    return (models_dir or get_settings().models_dir) / f"{fingerprint(root)}.tar.gz"


def train(root: Path = ROOT, models_dir: Path | None = None) -> Path:
    """Return the current model, training it first if it is missing."""
    target = model_path(root, models_dir)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"Training the Rasa model {target.name} (config, domain or data changed) ...", flush=True)
    subprocess.run(
        [
            str(RASA),
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            str(target.parent),
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
        ],
        cwd=root,
        check=True,
        env={**os.environ, **RASA_QUIET_ENV},
    )
    for old in target.parent.glob("*.tar.gz"):
        if old != target:
            old.unlink()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.model", description=__doc__.splitlines()[0])
    parser.add_argument("--path", action="store_true", help="print the model path without training")
    args = parser.parse_args(argv)
    if args.path:
        path = model_path()
        print(path)
        return 0 if path.exists() else 1
    try:
        print(train())
    except subprocess.CalledProcessError as exc:
        print(f"Training failed (exit code {exc.returncode}).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
