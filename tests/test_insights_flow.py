"""Insights through the real path: turns through /api/chat on the running
stack are recorded and show up in `python -m bot.admin insights` and on the
insights page; personal data in a question never reaches the database or the
page unmasked; a curator sees only her own municipality (page, CSV, CLI);
purge and erase remove turn records; the maintenance switch closes and opens
the chat; and a running assistant picks up a fixed article without
retraining, while a broken one is refused and the old index keeps serving."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select, update

from bot.dialogue import handoff
from bot.handoff import service
from bot.knowledge.store import load_knowledge
from bot.privacy import hash_sender
from bot.settings import ROOT
from bot.stack import Stack
from bot.storage.db import session_scope
from bot.storage.models import Caseworker, Feedback, Role, TurnRecord, utcnow
from bot.taxonomy import Author, Channel, HandoffReason, Municipality, Team, Topic
from tests.conftest import CASEWORKER_PASSWORD, USERNAMES, add_caseworker, new_sender

pytestmark = pytest.mark.integration
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
GLADSAXE_PHONE = "39 57 66 20"  # Gladsaxe's contact route, from the knowledge base
CPR, PHONE, EMAIL = "150387-1001", "22 33 44 55", "anne.testesen@example.dk"


def cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m bot.admin` with the test settings (or `env`), without a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "bot.admin", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        start_new_session=True,
    )


def insights(municipality: str) -> dict:
    result = cli("insights", "--municipality", municipality, "--days", "1", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def say(web: httpx.Client, sender: str, message: str, municipality: str | None = "gladsaxe") -> list[dict]:
    metadata = {"municipality": municipality} if municipality else {}
    response = web.post("/api/chat", json={"sender": sender, "message": message, "metadata": metadata})
    assert response.status_code == 200, response.text
    return response.json()


def kind_of(turn: list[dict]) -> dict:
    return next(m["custom"] for m in turn if "kind" in (m.get("custom") or {}))


def recorded(settings, sender: str, count: int, timeout: float = 10) -> list[TurnRecord]:
    """The conversation's turn records, once the recorder has written `count` of them."""
    sender_hash = hash_sender(sender, settings.sender_hash_salt.get_secret_value())
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            rows = session.scalars(select(TurnRecord).where(TurnRecord.sender_hash == sender_hash)).all()
        if len(rows) >= count or time.monotonic() > deadline:
            return list(rows)
        time.sleep(0.1)


class Staff:
    """A logged-in account in the caseworker app of a running stack."""

    def __init__(self, base_url: str, username: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        token = _CSRF.search(self.client.get("/caseworker/login").text).group(1)
        data = {"username": username, "password": CASEWORKER_PASSWORD, "csrf_token": token}
        assert self.client.post("/caseworker/login", data=data).status_code == 303

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params)


def test_turns_through_the_chat_api_show_up_in_the_insights(web, settings):
    before = insights("ballerup")
    sender = new_sender()
    answer = kind_of(say(web, sender, "Hvad er et fleksjob?", "ballerup"))
    assert answer["kind"] == "answer"
    nej = say(web, sender, '/give_feedback{"helpful":"nej"}', "ballerup")
    assert kind_of(nej).get("invite_comment") and "feedback" not in kind_of(nej) and "nlu" not in kind_of(nej)
    comment = web.post("/api/feedback", json={"sender": sender, "comment": f"Jeg manglede et nummer. Ring {PHONE}"})
    assert comment.status_code == 200 and "Tak" in comment.json()["text"]
    again = web.post("/api/feedback", json={"sender": sender, "comment": "En gang til"})
    assert again.status_code == 404 and "ikke noget svar" in again.json()["detail"]
    question = "Hvordan passer jeg min undulat?"
    missed = kind_of(say(web, sender, question, "ballerup"))["kind"]
    assert missed in ("fallback", "out_of_scope", "clarify")
    assert len(recorded(settings, sender, 3)) == 3

    after = insights("ballerup")
    assert after["turns"] - before["turns"] == 3
    assert after["conversations"] - before["conversations"] == 1
    for kind in ("answer", "smalltalk", missed):
        grown = after["by_kind"].get(kind, 0) - before["by_kind"].get(kind, 0)
        assert grown == 1 + (kind == missed and missed in ("answer", "smalltalk")), kind
    assert after["feedback"]["no"] - before["feedback"]["no"] == 1
    assert any(question in [u["text"], *u["variants"]] for u in after["unanswered"])
    article = next(a for a in after["not_helpful"] if a["article_id"] == answer["article_id"])
    assert "Jeg manglede et nummer. Ring [telefonnummer]" in article["comments"]
    assert "Hvad er et fleksjob?" in article["questions"]
    records = recorded(settings, sender, 3)
    assert {r.intent for r in records} >= {"ask_question", "give_feedback"}
    assert all(r.latency_ms > 0 and r.municipality is Municipality.BALLERUP for r in records)


def test_personal_data_in_a_question_is_never_kept_or_shown_unmasked(web, stack, settings):
    sender = new_sender()
    question = f"Mit cpr er {CPR}, ring {PHONE} eller skriv til {EMAIL}: hvordan fodrer jeg min undulat?"
    assert kind_of(say(web, sender, question))["kind"] != "answer"
    [record] = recorded(settings, sender, 1)
    assert record.question == "Mit cpr er XXXXXX-XXXX, ring [telefonnummer] eller skriv til [e-mail]: " + (
        "hvordan fodrer jeg min undulat?"
    )
    with session_scope() as session:
        stored = repr(session.execute(select(TurnRecord.__table__)).all())
        stored += repr(session.execute(select(Feedback.__table__)).all())
    for raw in (CPR, "1503871001", PHONE, "22334455", EMAIL):
        assert raw not in stored
    admin = Staff(stack.web_url, add_caseworker(Municipality.GLADSAXE, Team.BORGER, "Ada Admin", role=Role.ADMIN))
    page = admin.get("/caseworker/insights", kommune="gladsaxe").text
    csv = admin.get("/caseworker/insights.csv", kommune="gladsaxe").text
    assert "[telefonnummer] eller skriv til [e-mail]" in page
    for raw in (CPR, PHONE, EMAIL):
        assert raw not in page and raw not in csv


def test_a_rodovre_curator_sees_no_gladsaxe_data(web, stack, settings):
    token = secrets.token_hex(3)
    gladsaxe_question = f"Hvor kan jeg leje en kano i Gladsaxe {token}?"
    rodovre_question = f"Hvor kan jeg leje en cykel i Rødovre {token}?"
    say(web, new_sender(), gladsaxe_question, "gladsaxe")
    sender = new_sender()
    say(web, sender, rodovre_question, "rodovre")
    recorded(settings, sender, 1)
    username = f"kurator-{token}"
    USERNAMES.append(username)
    created = cli(
        "create-caseworker",
        "--role",
        "curator",
        "--municipality",
        "rodovre",
        "--username",
        username,
        stdin=CASEWORKER_PASSWORD + "\n",  # one line piped on stdin, no terminal
    )
    assert created.returncode == 0, created.stderr
    assert CASEWORKER_PASSWORD not in created.stdout + created.stderr
    curator = Staff(stack.web_url, username)
    page = curator.get("/caseworker/insights").text
    assert rodovre_question in page and gladsaxe_question not in page
    csv = curator.get("/caseworker/insights.csv").text
    assert rodovre_question in csv and gladsaxe_question not in csv
    assert gladsaxe_question not in curator.get("/caseworker/api/insights").text
    for path in ("/caseworker/insights", "/caseworker/insights.csv", "/caseworker/api/insights"):
        refused = curator.get(path, kommune="gladsaxe")
        assert refused.status_code == 403 and gladsaxe_question not in refused.text
    report = cli("insights", "--municipality", "rodovre", "--days", "1", "--format", "json")
    assert rodovre_question in report.stdout and gladsaxe_question not in report.stdout


def test_purge_removes_old_turn_records_and_erase_a_conversations(web, settings):
    old, kept, erased = new_sender(), new_sender(), new_sender()
    for sender in (old, kept, erased):
        say(web, sender, "Hvad er løntilskud?", "rudersdal")
    for sender in (old, kept, erased):
        assert recorded(settings, sender, 1)
    old_hash = hash_sender(old, settings.sender_hash_salt.get_secret_value())
    with session_scope() as session:
        session.execute(
            update(TurnRecord).where(TurnRecord.sender_hash == old_hash).values(at=utcnow() - timedelta(days=40))
        )
    purged = cli("purge", "--older-than", "30d")
    assert purged.returncode == 0 and "turn records" in purged.stdout, purged.stderr
    assert cli("erase", "--sender", erased).returncode == 0
    assert recorded(settings, old, 1, timeout=0) == []
    assert recorded(settings, erased, 1, timeout=0) == []
    assert len(recorded(settings, kept, 1)) == 1


def claimed_live_chat(web: httpx.Client, municipality: Municipality) -> str:
    """A citizen whose live chat a caseworker has claimed; the citizen's id."""
    sender = new_sender()
    say(web, sender, "Hej", municipality.value)
    username = add_caseworker(municipality, Team.BORGER, "Kim Berg")
    with session_scope() as session:
        worker = session.scalars(select(Caseworker).where(Caseworker.username == username)).one()
        new = service.NewCase(
            sender=sender,
            municipality=municipality,
            team=Team.BORGER,
            channel=Channel.CHAT,
            reason=HandoffReason.REQUEST_HUMAN,
            topic=None,
            article_ids=[],
            transcript=[(Author.CITIZEN, "Hej")],
            description="",
        )
        case = service.create_case(session, new)
        service.claim(session, worker, case.id, handoff.claimed(worker.display_name, worker.first_name))
    return sender


def test_the_maintenance_switch_closes_one_municipalitys_chat(web, settings):
    earlier = new_sender()
    say(web, earlier, "Hvad er et fleksjob?", "gladsaxe")
    recorded(settings, earlier, 1)
    live = claimed_live_chat(web, Municipality.GLADSAXE)
    message = "Vi opdaterer chatten i dag. Prøv igen i morgen."
    assert cli("maintenance", "on", "--municipality", "gladsaxe", "--message", message).returncode == 0
    try:
        started = time.perf_counter()
        turn = say(web, new_sender(), "Hvad er et fleksjob?", "gladsaxe")
        closed = kind_of(turn)
        assert closed["kind"] == "closed" and closed["message"] == message and GLADSAXE_PHONE in closed["contact"]
        assert message in turn[-1]["text"] and GLADSAXE_PHONE in turn[-1]["text"]
        assert time.perf_counter() - started < 5  # answered at once, not by Rasa (generous, not a benchmark)
        assert kind_of(say(web, earlier, "og løntilskud?", None))["kind"] == "closed"  # the conversation's own
        assert kind_of(say(web, new_sender(), "Hvad er et fleksjob?", "rodovre"))["kind"] == "answer"
        assert kind_of(say(web, live, "Er du der stadig?", "gladsaxe")).get("delivered") is True
    finally:
        assert cli("maintenance", "off", "--municipality", "gladsaxe").returncode == 0
    assert kind_of(say(web, new_sender(), "Hvad er et fleksjob?", "gladsaxe"))["kind"] == "answer"


def test_closing_every_municipality(web):
    assert cli("maintenance", "on", "--all").returncode == 0
    try:
        closed = kind_of(say(web, new_sender(), "Hvad er løntilskud?", "rudersdal"))
        assert closed["kind"] == "closed" and "lukket" in closed["message"]
    finally:
        assert cli("maintenance", "off", "--all").returncode == 0


# -- knowledge updates without retraining, on a stack with its own knowledge base (own_stack) --


def _env(stack: Stack) -> dict[str, str]:
    return {"DATABASE_URL": stack.settings.database_url, "KNOWLEDGE_DIR": str(stack.settings.knowledge_dir)}


def _edit_answer(directory: Path, article_id: str, sentence: str) -> None:
    """Add a sentence to an article's answer, as a curator would."""
    for path in directory.glob("articles/*/*.yml"):
        articles = yaml.safe_load(path.read_text(encoding="utf-8"))
        for article in articles:
            if article["id"] == article_id:
                article["answer"] = f"{article['answer']} {sentence}"
                path.write_text(yaml.safe_dump(articles, allow_unicode=True, sort_keys=False), encoding="utf-8")
                return
    raise AssertionError(f"no article {article_id}")


def _answer(stack: Stack) -> dict:
    with httpx.Client(base_url=stack.web_url, timeout=60) as web:
        return next(m for m in say(web, new_sender(), "Hvad er et fleksjob?") if m.get("custom", {}).get("kind"))


def _front_door_shows_contact(stack: Stack, route: str) -> None:
    """While Gladsaxe's chat is closed, the front door answers with its
    contact route; it reloads within a few seconds of the action server."""
    assert cli("maintenance", "on", "--municipality", "gladsaxe", env=_env(stack)).returncode == 0
    try:
        with httpx.Client(base_url=stack.web_url, timeout=60) as web:
            deadline = time.monotonic() + 30
            while route not in kind_of(say(web, new_sender(), "Hvad er et fleksjob?"))["contact"]:
                assert time.monotonic() < deadline, "the front door still shows the old contact route"
                time.sleep(0.5)
    finally:
        assert cli("maintenance", "off", "--municipality", "gladsaxe", env=_env(stack)).returncode == 0


def test_a_fixed_article_is_answered_without_retraining_and_a_broken_one_is_refused(own_stack):
    own_stack.wait_ready()  # back from tests/test_faults.py's kills
    knowledge = own_stack.settings.knowledge_dir
    article_id = _answer(own_stack)["custom"]["article_id"]
    fixed = "Rettet af redaktøren uden ny træning."
    _edit_answer(knowledge, article_id, fixed)
    assert fixed not in _answer(own_stack)["text"]  # the running index is the old one until told

    articles = load_knowledge(knowledge).articles
    contact = next(a.id for a in articles if a.topic is Topic.KONTAKT and a.municipality is Municipality.GLADSAXE)
    new_route = "Ny telefontid fra redaktøren."
    _edit_answer(knowledge, contact, new_route)

    reloaded = cli("reload-knowledge", env=_env(own_stack))
    assert reloaded.returncode == 0 and "Reloaded" in reloaded.stdout, reloaded.stdout + reloaded.stderr
    assert fixed in _answer(own_stack)["text"]
    _front_door_shows_contact(own_stack, new_route)  # the front door follows the action server

    broken = knowledge / "articles" / "gladsaxe" / "zz-broken.yml"
    article = yaml.safe_load((knowledge / "articles" / "alle" / "fleksjob.yml").read_text(encoding="utf-8"))[0]
    article |= {"id": "gladsaxe-broken", "municipality": "gladsaxe", "questions": ["hvad er en kanotur"]}
    article["citations"][0]["quote"] = "A sentence that is in no source at all"
    broken.write_text(yaml.safe_dump([article], allow_unicode=True), encoding="utf-8")
    _edit_answer(knowledge, article_id, "Denne sætning må ikke nå frem.")
    refused = cli("reload-knowledge", env=_env(own_stack))
    assert refused.returncode == 1 and "Refused" in refused.stderr
    assert "zz-broken.yml: gladsaxe-broken" in refused.stderr  # the validator's message
    assert fixed in _answer(own_stack)["text"] and "må ikke nå frem" not in _answer(own_stack)["text"]

    os.kill(own_stack.processes["actions"].pid, signal.SIGHUP)  # the action server checks it itself too
    log = own_stack.log_dir / "actions.log"
    deadline = time.monotonic() + 30
    while "knowledge_refused" not in log.read_text(encoding="utf-8", errors="replace"):
        assert time.monotonic() < deadline, "the action server did not refuse the broken knowledge base"
        time.sleep(0.5)
    assert fixed in _answer(own_stack)["text"] and "må ikke nå frem" not in _answer(own_stack)["text"]
