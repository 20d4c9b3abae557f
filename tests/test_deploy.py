"""The systemd units we ship (deploy/systemd) parse, name commands the
runner knows, and the command they run really starts a part."""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.admin import build_parser as admin_parser
from bot.settings import ROOT
from bot.stack import build_parser as stack_parser
from bot.stack import new_token
from tests.conftest import free_port

UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
INSTALLED = "/srv/jobcenter"


def unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser


def exec_start(path: Path) -> list[str]:
    return shlex.split(unit(path)["Service"]["ExecStart"].replace("%i", "5005"))


def test_every_unit_we_ship_is_found():
    names = {path.name for path in UNITS}
    assert {"jobcenter-actions.service", "jobcenter-rasa@.service", "jobcenter-web.service"} <= names


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_a_unit_runs_a_command_of_ours_and_restarts(path):
    service = unit(path)["Service"]
    argv = exec_start(path)
    assert argv[:3] == [f"{INSTALLED}/.venv/bin/python", "-m", argv[2]]
    parser = {"bot.stack": stack_parser, "bot.admin": admin_parser}[argv[2]]()
    parser.parse_args(argv[3:])  # exits (fails the test) on an argument the command does not take
    assert service["EnvironmentFile"] == "/etc/jobcenter/jobcenter.env"
    if service.get("Type") != "oneshot":
        assert service["Restart"] == "always"


def test_the_action_servers_unit_command_starts_it():
    argv = exec_start(ROOT / "deploy" / "systemd" / "jobcenter-actions.service")
    port = free_port()
    env = {**os.environ, "RASA_TOKEN": new_token().get_secret_value(), "ACTIONS_TOKEN": "t" * 40}
    env["ACTIONS_PORT"] = str(port)
    process = subprocess.Popen([sys.executable, *argv[1:]], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the action server did not start"
            time.sleep(0.5)
        refused = httpx.post(f"http://127.0.0.1:{port}/webhook", json={}, timeout=5)
        assert refused.status_code == 403
    finally:
        process.terminate()
        process.wait(30)
