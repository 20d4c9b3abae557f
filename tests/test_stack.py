"""The runner's pure parts: model fingerprint, settings for children, Rasa endpoints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.keep_alive import FRONT_DOOR_SECONDS
from bot.model import fingerprint, model_path
from bot.settings import ROOT, Settings
from bot.stack import rasa_endpoints, refuse_unsafe_scale, settings_env, web_command

NGINX_CONF = ROOT / "deploy" / "nginx" / "jobcenter.conf"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "data", tmp_path / "data")
    shutil.copytree(ROOT / "bot" / "nlu", tmp_path / "bot" / "nlu", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "requirements").mkdir()
    shutil.copy(ROOT / "requirements" / "rasa.txt", tmp_path / "requirements" / "rasa.txt")
    return tmp_path


def test_fingerprint_is_stable_and_changes_with_training_data(project):
    before = fingerprint(project)
    assert fingerprint(project) == before
    nlu = next((project / "data" / "nlu").glob("*.yml"))
    nlu.write_text(nlu.read_text() + "\n", encoding="utf-8")
    assert fingerprint(project) != before


def test_fingerprint_changes_with_config_and_rasa_version(project):
    before = fingerprint(project)
    (project / "config.yml").write_text((project / "config.yml").read_text().replace("epochs: 25", "epochs: 26"))
    changed_config = fingerprint(project)
    assert changed_config != before
    lock = project / "requirements" / "rasa.txt"
    lock.write_text(lock.read_text().replace("rasa==3.6.21", "rasa==3.6.20"))
    assert fingerprint(project) != changed_config


def test_fingerprint_changes_with_our_nlu_component_but_not_with_bytecode(project):
    before = fingerprint(project)
    cache = project / "bot" / "nlu" / "__pycache__"
    cache.mkdir()
    (cache / "vocabulary.cpython-310.pyc").write_bytes(b"\0")
    assert fingerprint(project) == before
    code = project / "bot" / "nlu" / "vocabulary.py"
    code.write_text(code.read_text() + "\n", encoding="utf-8")
    assert fingerprint(project) != before


def test_model_path_is_named_after_the_fingerprint(project, tmp_path):
    assert model_path(project, tmp_path) == tmp_path / f"{fingerprint(project)}.tar.gz"


def test_children_get_every_setting_as_environment():
    env = settings_env(Settings(rasa_token=SecretStr("s3cret"), web_port=8123))
    assert env["WEB_PORT"] == "8123"
    assert env["RASA_TOKEN"] == "s3cret"
    assert env["DATABASE_URL"].startswith("sqlite:///")
    assert "OPENING_HOURS" in env


def test_sqlite_tracker_uses_the_embedded_endpoints(tmp_path):
    endpoints, env = rasa_endpoints(Settings(tracker_database_url=f"sqlite:///{tmp_path}/t.db", actions_port=5055))
    assert endpoints.name == "endpoints.yml"
    assert env["RASA_TRACKER_DB"] == f"{tmp_path}/t.db"
    assert env["RASA_ACTION_ENDPOINT"].endswith(":5055/webhook")


def test_postgres_tracker_needs_redis_and_uses_production_endpoints():
    postgres = "postgresql+psycopg://jc:pw@db.example:5433/tracker"
    with pytest.raises(SystemExit, match="LOCK_STORE_URL"):
        rasa_endpoints(Settings(tracker_database_url=postgres))
    endpoints, env = rasa_endpoints(Settings(tracker_database_url=postgres, lock_store_url="redis://cache:6380/2"))
    assert endpoints.name == "endpoints.production.yml"
    assert (env["RASA_TRACKER_DIALECT"], env["RASA_TRACKER_HOST"], env["RASA_TRACKER_PORT"]) == (
        "postgresql",
        "db.example",
        "5433",
    )
    assert (env["RASA_TRACKER_USER"], env["RASA_TRACKER_PASSWORD"], env["RASA_TRACKER_DB"]) == ("jc", "pw", "tracker")
    assert (env["RASA_LOCK_HOST"], env["RASA_LOCK_PORT"], env["RASA_LOCK_DB"]) == ("cache", "6380", "2")


POSTGRES = "postgresql+psycopg://jc:pw@db.example:5433/jobcenter"


def test_several_rasa_instances_need_the_postgres_tracker_store_and_redis():
    with pytest.raises(SystemExit, match=r"RASA_INSTANCES > 1 .* TRACKER_DATABASE_URL .* LOCK_STORE_URL"):
        refuse_unsafe_scale(Settings(rasa_instances=2))
    with pytest.raises(SystemExit, match="RASA_INSTANCES"):
        refuse_unsafe_scale(Settings(rasa_instances=2, tracker_database_url=POSTGRES))
    refuse_unsafe_scale(Settings(rasa_instances=2, tracker_database_url=POSTGRES, lock_store_url="redis://c:6379/0"))


def test_several_front_door_workers_need_postgres():
    with pytest.raises(SystemExit, match=r"WEB_WORKERS > 1 .* DATABASE_URL"):
        refuse_unsafe_scale(Settings(web_workers=2))
    refuse_unsafe_scale(Settings(web_workers=2, database_url=POSTGRES))
    assert web_command(Settings(web_workers=2, database_url=POSTGRES)).argv[-2:] == ["--workers", "2"]
    assert "--workers" not in web_command(Settings()).argv


def test_the_front_door_keeps_idle_connections_longer_than_the_proxy_does():
    """A POST on a kept connection the server is closing is lost: nginx
    (deploy/nginx/jobcenter.conf) must close its idle upstream connections first."""
    argv = web_command(Settings()).argv
    front_door = int(argv[argv.index("--timeout-keep-alive") + 1])
    proxy = re.search(r"upstream jobcenter_front_door \{[^}]*keepalive_timeout (\d+)s;", NGINX_CONF.read_text())
    assert proxy is not None and int(proxy.group(1)) < front_door == FRONT_DOOR_SECONDS


def test_instance_i_listens_on_rasa_port_plus_i():
    settings = Settings(rasa_port=6000, rasa_instances=3)
    assert settings.rasa_urls == ["http://127.0.0.1:6000", "http://127.0.0.1:6001", "http://127.0.0.1:6002"]
    assert settings.rasa_url == settings.rasa_urls[0]


@pytest.mark.parametrize(
    ("argv", "setting"),
    [
        (["exec", "web"], {"WEB_WORKERS": "2"}),
        (["exec", "rasa"], {"RASA_INSTANCES": "2"}),
        ([], {"RASA_INSTANCES": "2"}),
    ],
)
def test_the_runner_refuses_to_scale_on_sqlite_and_names_the_setting(argv, setting):
    env = {**os.environ, "RASA_TOKEN": "r" * 40, "ACTIONS_TOKEN": "a" * 40, **setting}
    env.pop("LOCK_STORE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot.stack", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert next(iter(setting)) + " > 1 needs" in done.stderr
