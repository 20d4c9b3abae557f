"""Handoff to a caseworker, end to end through HTTP: the citizen's chat API,
the caseworker app, Rasa pause/resume and the citizen's outbox (polling and SSE)."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from bot.handoff import service
from bot.storage.db import session_scope
from bot.storage.models import CaseStatus, Channel, HandoffCase, Team
from bot.taxonomy import Municipality
from tests.conftest import CASEWORKER_PASSWORD, add_caseworker, new_sender

pytestmark = pytest.mark.integration
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def caseworkers(migrated) -> dict[str, str]:
    """Usernames by role in the test: one per municipality and team we need."""
    accounts = {
        "gladsaxe_borger": (Municipality.GLADSAXE, Team.BORGER, "Anne Hansen"),
        "gladsaxe_virksomhed": (Municipality.GLADSAXE, Team.VIRKSOMHED, "Bo Jensen"),
        "rodovre_borger": (Municipality.RODOVRE, Team.BORGER, "Rikke Holm"),
    }
    return {key: add_caseworker(*account) for key, account in accounts.items()}


class Citizen:
    def __init__(self, web: httpx.Client, municipality: str, audience: str = "borger") -> None:
        self.web = web
        self.sender = new_sender()
        self.metadata = {"municipality": municipality, "audience": audience}

    def say(self, message: str) -> list[dict]:
        response = self.web.post(
            "/api/chat", json={"sender": self.sender, "message": message, "metadata": self.metadata}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def inbox(self, after: int = 0) -> dict:
        return self.web.get(f"/api/chat/{self.sender}/messages", params={"after": after}).json()


def kind(turn: list[dict]) -> str:
    return next(m["custom"]["kind"] for m in turn if "kind" in (m.get("custom") or {}))


def texts(turn: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in turn)


class Caseworker:
    def __init__(self, stack, username: str) -> None:
        self.client = httpx.Client(base_url=stack.web_url, timeout=30, follow_redirects=False)
        page = self.client.get("/caseworker/login")
        token = _CSRF.search(page.text).group(1)
        response = self.client.post(
            "/caseworker/login", data={"username": username, "password": CASEWORKER_PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 303, response.text

    def page(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post(self, path: str, **data: str) -> httpx.Response:
        """POST a form with the session's CSRF token (taken from the inbox page)."""
        data["csrf_token"] = _CSRF.search(self.client.get("/caseworker/").text).group(1)
        return self.client.post(path, data=data)

    def thread(self, case_id: int) -> httpx.Response:
        return self.client.get(f"/caseworker/api/cases/{case_id}/thread")


def open_case(sender: str) -> HandoffCase:
    with session_scope() as session:
        case = session.query(HandoffCase).filter_by(sender=sender).order_by(HandoffCase.id.desc()).first()
        assert case is not None, "no case was created"
        return case


def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def rasa_tracker(stack, settings, sender: str, events: str = "NONE") -> dict:
    token = settings.rasa_token.get_secret_value()
    url = f"{settings.rasa_url}/conversations/{sender}/tracker"
    return httpx.get(url, params={"token": token, "include_events": events}).json()


def test_live_chat_handoff_round_trip(web, stack, settings, caseworkers):
    citizen = Citizen(web, "gladsaxe")
    first = citizen.say("Jeg vil gerne tale med en medarbejder")
    assert kind(first) == "handoff"
    assert "Chat med en medarbejder nu" in json.dumps(first, ensure_ascii=False)
    assert kind(citizen.say("Chat med en medarbejder nu")) == "form"
    queued = citizen.say("Jeg har spørgsmål om fleksjob og min egen situation")
    assert kind(queued) == "form" and "kø" in texts(queued)

    case = open_case(citizen.sender)
    assert (case.municipality, case.team, case.channel, case.status) == (
        Municipality.GLADSAXE,
        Team.BORGER,
        Channel.CHAT,
        CaseStatus.WAITING,
    )
    assert citizen.inbox()["handoff"]["status"] == "waiting"

    anne = Caseworker(stack, caseworkers["gladsaxe_borger"])
    assert f"Sag {case.id}" in anne.page("/caseworker/").text
    detail = anne.page(f"/caseworker/cases/{case.id}").text
    assert "Jeg vil gerne tale med en medarbejder" in detail  # the bot transcript is in the case

    # Another municipality's caseworker sees nothing, in the UI or the API.
    rikke = Caseworker(stack, caseworkers["rodovre_borger"])
    assert f"Sag {case.id}" not in rikke.page("/caseworker/").text
    assert rikke.page(f"/caseworker/cases/{case.id}").status_code == 404
    assert rikke.thread(case.id).status_code == 404
    assert rikke.post(f"/caseworker/cases/{case.id}/claim").status_code in (303, 404)
    assert open_case(citizen.sender).status is CaseStatus.WAITING

    assert anne.post(f"/caseworker/cases/{case.id}/claim").status_code == 303
    assert rasa_tracker(stack, settings, citizen.sender)["paused"] is True
    state = citizen.inbox()
    assert state["handoff"] == {
        "status": "claimed",
        "channel": "chat",
        "position": None,
        "caseworker": {"first_name": "Anne", "role": "medarbejder"},
    }
    last_id = state["messages"][-1]["id"]

    delivered = citizen.say("Hej, er der nogen? Mit cpr er 0101901234")
    assert kind(delivered) == "handoff" and delivered[-1]["custom"]["delivered"] is True
    thread = wait_for(lambda: anne.thread(case.id).json()["messages"])
    assert any("Hej, er der nogen?" in m["text"] for m in thread)
    assert all("0101901234" not in m["text"] for m in thread)
    assert any("XXXXXX-XXXX" in m["text"] for m in thread)

    with (
        httpx.Client(base_url=stack.web_url, timeout=10) as sse_client,
        sse_client.stream("GET", f"/api/chat/{citizen.sender}/events", params={"after": last_id}) as stream,
    ):
        assert (
            anne.post(
                f"/caseworker/cases/{case.id}/reply", text="Hej, jeg hedder Anne. Hvad kan jeg hjælpe med?"
            ).status_code
            == 303
        )
        started = time.monotonic()
        for line in stream.iter_lines():
            if line.startswith("data:") and "Anne" in line and "hjælpe med" in line:
                break
            assert time.monotonic() - started < 10, "the reply did not arrive over SSE"

    reply = citizen.inbox(after=last_id)["messages"][-1]
    assert reply["text"].startswith("Hej, jeg hedder Anne")
    assert reply["custom"]["caseworker"] == {"first_name": "Anne", "role": "medarbejder"}

    assert anne.post(f"/caseworker/cases/{case.id}/note", text="Ring evt. tilbage i morgen").status_code == 303
    assert "Ring evt. tilbage" not in json.dumps(citizen.inbox(), ensure_ascii=False)

    assert anne.post(f"/caseworker/cases/{case.id}/close", outcome="Besvaret i chatten").status_code == 303
    assert open_case(citizen.sender).status is CaseStatus.CLOSED

    def resumed() -> dict | None:
        """The tracker once Rasa has the resume (sent through the durable queue, in the background)."""
        tracker = rasa_tracker(stack, settings, citizen.sender, events="ALL")
        return None if tracker["paused"] else tracker

    tracker = wait_for(resumed)
    logged = [e.get("text") or "" for e in tracker["events"] if e["event"] in ("user", "bot")]
    assert any("Hej, er der nogen?" in t for t in logged)  # the citizen's message to the caseworker
    assert any("jeg hedder Anne" in t for t in logged)  # the caseworker's reply
    assert all("0101901234" not in t for t in logged)
    closing = citizen.inbox(after=last_id)
    assert closing["handoff"] is None
    assert "assistenten igen" in closing["messages"][-1]["text"]

    assert kind(citizen.say("Hvad er et fleksjob?")) == "answer"


def test_employer_handoff_lands_in_team_virksomhed(web, stack, caseworkers):
    employer = Citizen(web, "gladsaxe", audience="virksomhed")
    assert kind(employer.say("Kan en virksomhedskonsulent kontakte os?")) == "handoff"
    employer.say("Chat med en medarbejder nu")
    employer.say("Vi vil gerne ansætte en med løntilskud")
    case = open_case(employer.sender)
    assert case.team is Team.VIRKSOMHED

    bo = Caseworker(stack, caseworkers["gladsaxe_virksomhed"])
    anne = Caseworker(stack, caseworkers["gladsaxe_borger"])
    assert f"Sag {case.id}" in bo.page("/caseworker/").text
    assert f"Sag {case.id}" not in anne.page("/caseworker/").text
    assert anne.page(f"/caseworker/cases/{case.id}").status_code == 404


def test_callback_request_with_validated_contact(web, stack, caseworkers):
    citizen = Citizen(web, "rodovre")
    assert kind(citizen.say("Kan I ringe mig op?")) == "handoff"
    assert kind(citizen.say("Ring eller skriv til mig")) == "form"
    assert kind(citizen.say("Kim")) == "form"
    invalid = citizen.say("123")
    assert kind(invalid) == "form" and "telefonnummer" in texts(invalid)
    assert kind(citizen.say("+45 12 34 56 78")) == "form"
    done = citizen.say("Jeg vil høre om hjælp til at finde job")
    assert "12 34 56 78" in texts(done)

    case = open_case(citizen.sender)
    assert (case.channel, case.contact_name, case.contact_phone) == (Channel.CALLBACK, "Kim", "12 34 56 78")
    callbacks = Caseworker(stack, caseworkers["rodovre_borger"]).page("/caseworker/callbacks").text
    assert "Kim" in callbacks and "12 34 56 78" in callbacks


def test_a_button_tapped_twice_is_not_taken_as_the_name(web, caseworkers):
    """A second tap, or the same message sent again after a 503 whose turn had
    already run, meets the form one step further: it is not an answer there."""
    citizen = Citizen(web, "ballerup")
    citizen.say("Kan I ringe mig op?")
    assert "Hvad hedder du" in texts(citizen.say("Ring eller skriv til mig"))
    again = citizen.say("Ring eller skriv til mig")
    assert (
        kind(again) == "form"
        and texts(again) == "Det skrev du også lige før.\nHvad hedder du? Du må gerne springe over."
    )
    assert "telefonnummer" in texts(citizen.say("Anna Holm"))
    citizen.say("20 30 40 00")
    citizen.say("20 30 40 00")  # sent again: the description is still asked for
    assert "20 30 40 00" in texts(citizen.say("Jeg vil høre om hjælp til at finde job"))
    case = open_case(citizen.sender)
    assert (case.contact_name, case.contact_phone, case.description) == (
        "Anna Holm",
        "20 30 40 00",
        "Jeg vil høre om hjælp til at finde job",
    )


def test_handoff_form_can_be_cancelled(web, caseworkers):
    citizen = Citizen(web, "gladsaxe")
    citizen.say("jeg vil tale med et menneske")
    cancelled = citizen.say("fortryd")
    assert kind(cancelled) == "form" and "ikke sendt noget videre" in texts(cancelled)
    with session_scope() as session:
        assert session.query(HandoffCase).filter_by(sender=citizen.sender).count() == 0
    assert kind(citizen.say("Hvad er løntilskud?")) == "answer"


def test_a_question_inside_the_form_is_answered_and_the_form_goes_on(web, caseworkers):
    citizen = Citizen(web, "gladsaxe")
    citizen.say("jeg vil tale med et menneske")
    turn = citizen.say("Hvad er løntilskud?")
    assert kind(turn) == "answer"  # one kind per turn; the form's question follows
    assert "Kilde:" in texts(turn) and texts(turn).lower().endswith("vil du have, at vi ringer eller skriver til dig?")
    assert kind(citizen.say("Ring eller skriv til mig")) == "form"
    assert "Hvad hedder du" in texts(citizen.say("Hvad er virksomhedspraktik?"))


def test_two_fallbacks_offer_a_caseworker_and_yes_starts_the_form(web):
    citizen = Citizen(web, "ballerup")
    assert kind(citizen.say("xqzv blorp")) == "fallback"
    offer = citizen.say("grmbl fnork")
    assert kind(offer) == "handoff"
    assert kind(citizen.say("ja tak")) == "handoff"
    citizen.say("Chat med en medarbejder nu")
    citizen.say("Jeg kunne ikke få svar")
    assert open_case(citizen.sender).reason == "fallback"


def test_crisis_gets_emergency_numbers_and_top_priority(web):
    citizen = Citizen(web, "rudersdal")
    turn = citizen.say("jeg kan ikke mere og tænker på at tage mit eget liv")
    assert kind(turn) == "crisis"
    assert "112" in texts(turn) and "70 201 201" in texts(turn)
    citizen.say("ja")
    citizen.say("Ring eller skriv til mig")
    citizen.say("spring over")
    citizen.say("12345678")
    citizen.say("Jeg har det meget svært")
    case = open_case(citizen.sender)
    assert (case.reason, case.priority) == ("crisis", 1)
    with session_scope() as session:
        assert service.queue_position(session, case) == 1


def test_a_citizen_in_the_queue_is_told_their_place_and_never_offered_a_caseworker_again(web):
    citizen = Citizen(web, "gladsaxe")
    citizen.say("Jeg vil gerne tale med en medarbejder")
    citizen.say("Chat med en medarbejder nu")
    citizen.say("Jeg har spørgsmål om min sag")
    # A question about one's own case, and asking for a person again: no new offer, no second case.
    for question in ("Hvorfor har jeg fået en sanktion i min sag?", "Jeg vil tale med en medarbejder"):
        turn = citizen.say(question)
        assert "allerede i kø" in texts(turn)
        assert not any(b["title"] == "Ja tak" for m in turn for b in m.get("buttons") or [])
    with session_scope() as session:
        assert session.query(HandoffCase).filter_by(sender=citizen.sender).count() == 1
