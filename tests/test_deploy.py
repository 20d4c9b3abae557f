"""The systemd units we ship (deploy/systemd) parse, name commands the
runner knows, and the command they run really starts a part."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.admin import build_parser as admin_parser
from bot.api.limits import MAX_BODY_BYTES, TOO_LARGE
from bot.settings import ROOT
from bot.stack import build_parser as stack_parser
from bot.stack import new_token
from tests.conftest import free_port, new_sender

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


# -- the nginx server block (deploy/nginx/jobcenter.conf) ---------------------
#
# Started for real: Debian's nginx (`make test` installs it, as it does
# Chromium) runs the shipped file, with only the ports, the certificate and
# the upstream changed, in front of the test stack's front door. A parser
# (crossplane) would only say the file is well formed; nginx also checks the
# directives and their values, and shows what a browser gets.

NGINX_CONF = ROOT / "deploy" / "nginx" / "jobcenter.conf"


@dataclass
class Proxy:
    http: str
    https: str


@pytest.fixture(scope="module")
def proxy(stack, tmp_path_factory) -> Iterator[Proxy]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is not installed: `make test` installs Debian's nginx-light")
    folder = tmp_path_factory.mktemp("nginx")
    certificate = ["-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"), "-days", "1"]
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", *certificate]
    subprocess.run(openssl, check=True, capture_output=True)
    http_port, https_port = free_port(), free_port()
    site = NGINX_CONF.read_text(encoding="utf-8")
    for old, new in {
        "listen [::]:80;": "",
        "listen [::]:443 ssl http2;": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl": f"listen 127.0.0.1:{https_port} ssl",
        "/etc/ssl/jobcenter/fullchain.pem": str(folder / "cert.pem"),
        "/etc/ssl/jobcenter/privkey.pem": str(folder / "key.pem"),
        "server 127.0.0.1:8000;": f"server {stack.settings.web_host}:{stack.settings.web_port};",
    }.items():
        assert old in site, old
        site = site.replace(old, new)
    (folder / "jobcenter.conf").write_text(site, encoding="utf-8")
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in kinds)
    (folder / "nginx.conf").write_text(
        f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\nevents {{}}\n"
        f"http {{ access_log off; {temp} include {folder / 'jobcenter.conf'}; }}\n",
        encoding="utf-8",
    )
    command = [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen([*command, "-g", "daemon off;"])
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{http_port}/", timeout=2))
        yield Proxy(f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{https_port}")
    finally:
        server.terminate()
        server.wait(30)


def wait_for(call) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            call()
            return
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.2)


def test_nginx_redirects_http_to_https(proxy):
    response = httpx.get(f"{proxy.http}/api/chat", follow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["location"].startswith("https://") and response.headers["location"].endswith("/api/chat")


def test_nginx_serves_the_front_door_over_https_with_hsts(proxy):
    with httpx.Client(base_url=proxy.https, verify=False, timeout=60) as web:
        response = web.get("/health/live")
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        assert "max-age=" in response.headers["strict-transport-security"]
        reply = web.post("/api/chat", json={"sender": new_sender(), "message": "Hvad er et fleksjob?"})
        assert reply.status_code == 200 and reply.json()


def test_nginx_refuses_a_body_over_the_front_doors_limit_in_danish(proxy):
    limit = re.search(r"client_max_body_size (\d+)k;", NGINX_CONF.read_text(encoding="utf-8"))
    assert limit and int(limit.group(1)) * 1024 == MAX_BODY_BYTES
    body = b'{"sender": "x", "message": "' + b"a" * MAX_BODY_BYTES + b'"}'
    headers = {"Content-Type": "application/json"}
    response = httpx.post(f"{proxy.https}/api/chat", content=body, headers=headers, verify=False, timeout=30)
    assert response.status_code == 413 and response.json() == {"detail": TOO_LARGE}


def test_nginx_streams_server_sent_events_unbuffered_with_a_long_timeout(proxy):
    site = NGINX_CONF.read_text(encoding="utf-8")
    stream = site[site.index("location ~ ^/api/chat/[^/]+/events$") :]
    assert "proxy_buffering off;" in stream and "proxy_read_timeout 1h;" in stream
    url = f"{proxy.https}/api/chat/{new_sender()}/events"
    with httpx.stream("GET", url, verify=False, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: handoff"
