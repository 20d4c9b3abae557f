"""The chat API through HTTP against the three real processes and the trained model."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.taxonomy import CORE_TOPICS, Municipality, Topic
from tests.conftest import new_sender

pytestmark = pytest.mark.integration

CORE_QUESTIONS = {
    Topic.RETTIGHEDER: "Hvilke rettigheder har jeg som ledig?",
    Topic.PLIGTER: "Hvilke pligter har jeg som ledig?",
    Topic.FLEKSJOB: "Hvad er et fleksjob?",
    Topic.HANDICAPKOMPENSATION: "Hvilken hjælp kan jeg få på jobbet, når jeg har et handicap?",
    Topic.REKRUTTERING: "Vi mangler medarbejdere. Kan I hjælpe os med at rekruttere?",
    Topic.LOENTILSKUD: "Hvad er løntilskud, og hvordan fungerer det for os som virksomhed?",
}


def chat(web: httpx.Client, message: str, sender: str | None = None, **metadata: str) -> httpx.Response:
    return web.post("/api/chat", json={"sender": sender or new_sender(), "message": message, "metadata": metadata})


def kinds(turn: list[dict]) -> list[str]:
    return [m["custom"]["kind"] for m in turn if "kind" in (m.get("custom") or {})]


def test_fleksjob_question_gets_a_cited_answer(web):
    response = chat(web, "Hvad er et fleksjob?", municipality="gladsaxe")
    assert response.status_code == 200
    turn = response.json()
    assert kinds(turn) == ["answer"]
    answer = next(m for m in turn if m.get("custom", {}).get("kind") == "answer")
    assert answer["custom"]["topic"] == "fleksjob"
    assert answer["custom"]["article_id"]
    source = answer["custom"]["sources"][0]
    assert set(source) == {"document", "municipality", "title", "section", "year"}
    assert source["municipality"] in ("gladsaxe", "alle")
    assert "Kilde:" in answer["text"]
    assert all(m["recipient_id"] for m in turn)


@pytest.mark.parametrize("municipality", list(Municipality))
@pytest.mark.parametrize("topic", CORE_TOPICS)
def test_core_topics_are_answered_for_every_municipality(web, municipality, topic):
    audience = "virksomhed" if topic in (Topic.REKRUTTERING, Topic.LOENTILSKUD) else "borger"
    turn = chat(web, CORE_QUESTIONS[topic], municipality=municipality.value, audience=audience).json()
    answer = next((m for m in turn if m.get("custom", {}).get("kind") == "answer"), None)
    assert answer is not None, turn
    assert {s["municipality"] for s in answer["custom"]["sources"]} <= {municipality.value, "alle"}


def test_every_turn_has_exactly_one_kind(web):
    sender = new_sender()
    for message in ("hej", "er du en robot?", "Hvad er løntilskud?", "tak", "hvad bliver vejret i morgen", "farvel"):
        turn = chat(web, message, sender, municipality="rodovre").json()
        assert len(kinds(turn)) == 1, (message, turn)


def test_greeting_robot_and_out_of_scope(web):
    sender = new_sender()
    assert kinds(chat(web, "Hej", sender, municipality="ballerup").json()) == ["smalltalk"]
    robot = chat(web, "er du en robot?", sender, municipality="ballerup").json()
    assert kinds(robot) == ["smalltalk"] and "chatbot" in robot[0]["text"]
    refusal = chat(web, "hvornår bliver mit skrald hentet?", sender, municipality="ballerup").json()
    assert kinds(refusal) == ["out_of_scope"]
    assert "borger.dk" in " ".join(m.get("text", "") for m in refusal)


@pytest.mark.parametrize(
    ("message", "municipality", "article"),
    [
        ("kan jeg få et hæve-sænkebord på mit arbejde", "ballerup", "alle-handicapkompensation-hjaelpemidler"),
        ("kan jeg få et kursus i excel", "rudersdal", "rudersdal-opkvalificering-ledige"),
        ("jeg er ny i danmark og kan ikke så godt dansk", "gladsaxe", "gladsaxe-integration-flygtninge-job"),
    ],
)
def test_everyday_wording_gets_the_right_article(web, message, municipality, article):
    turn = chat(web, message, municipality=municipality).json()
    assert kinds(turn) == ["answer"], turn
    assert turn[0]["custom"]["article_id"] == article


def test_a_complaint_gets_a_caseworker_offer_and_the_cited_general_rule(web):
    turn = chat(web, "Jeg vil klage over afgørelsen jeg har fået", municipality="rudersdal").json()
    assert kinds(turn) == ["handoff"], turn
    [general] = [m for m in turn if "article_id" in (m.get("custom") or {})]
    assert general["text"].startswith("Det gælder generelt:") and "Kilde:" in general["text"]
    assert {s["municipality"] for s in general["custom"]["sources"]} <= {"rudersdal", "alle"}


def test_saying_you_feel_unwell_gets_the_help_lines(web):
    turn = chat(web, "jeg har det ikke godt", municipality="ballerup").json()
    assert kinds(turn) == ["crisis"], turn
    assert "112" in turn[0]["text"] and "70 201 201" in turn[0]["text"]


def test_someone_with_little_danish_is_offered_a_person_at_once(web):
    turn = chat(web, "jeg kan ikke tale dansk godt", municipality="ballerup").json()
    assert kinds(turn) == ["handoff"], turn
    assert "medarbejder" in turn[0]["text"]


def test_keyboard_mashes_are_not_understood_then_a_person_is_offered(web):
    sender = new_sender()
    first = chat(web, "sksksk", sender, municipality="gladsaxe").json()
    assert kinds(first) == ["fallback"], first
    assert "forstod jeg ikke" in first[0]["text"]
    second = chat(web, "qazwsx edcrfv", sender, municipality="gladsaxe").json()
    assert kinds(second) == ["handoff"], second
    assert "medarbejder" in second[0]["text"]


@pytest.mark.parametrize(
    ("message", "name"), [("jeg bor i københavn", "Københavns Kommune"), ("jeg bor i aarhus", "Aarhus Kommune")]
)
def test_a_user_of_another_municipality_is_told_which_four_are_covered(web, message, name):
    turn = chat(web, message, municipality="ballerup").json()
    assert kinds(turn) == ["clarify"], turn
    assert f"Hører du til {name}, skal du kontakte jobcentret dér." in turn[0]["text"]


def test_missing_municipality_gets_four_buttons(web):
    turn = chat(web, "Hvad er et fleksjob?").json()
    question = next(m for m in turn if m.get("custom", {}).get("kind") == "clarify")
    assert [b["title"] for b in question["buttons"]] == ["Ballerup", "Gladsaxe", "Rødovre", "Rudersdal"]


def test_choosing_a_municipality_answers_the_waiting_question(web):
    sender = new_sender()
    chat(web, "Hvad er et fleksjob?", sender)
    turn = chat(web, '/inform_municipality{"municipality":"rodovre"}', sender).json()
    answer = next(m for m in turn if m.get("custom", {}).get("kind") == "answer")
    assert answer["custom"]["municipality"] == "rodovre"


VALID_SENDER = "t" * 22


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ({"sender": VALID_SENDER, "message": "hej", "metadata": {"municipality": "aarhus"}}, "Kommunen «aarhus»"),
        ({"sender": VALID_SENDER, "message": "   "}, "Beskeden er tom"),
        ({"sender": VALID_SENDER, "message": "x" * 2001}, "Beskeden er for lang"),
        ({"sender": "bad sender!", "message": "hej"}, "Samtalens id"),
        ({"sender": "", "message": "hej"}, "Samtalens id"),
        ({"sender": "x" * 65, "message": "hej"}, "Samtalens id"),
        ({"message": "hej"}, "Feltet «sender» mangler"),
        ({"sender": VALID_SENDER, "message": 42}, "Beskeden skal være tekst"),
        ({"sender": VALID_SENDER, "message": "hej", "metadata": {"audience": "turist"}}, "Målgruppen"),
        ({"sender": VALID_SENDER, "message": "hej", "metadata": {"language": "en"}}, "dansk"),
    ],
)
def test_bad_input_gets_422_in_danish(web, body, phrase):
    response = web.post("/api/chat", json=body)
    assert response.status_code == 422
    assert phrase in response.json()["detail"]


def test_malformed_json_gets_422_in_danish(web):
    response = web.post(
        "/api/chat",
        content=b'{"sender": "tttttttttttttttttttttt", "message": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "gyldig JSON" in response.json()["detail"]


def test_message_of_exactly_2000_characters_is_accepted(web):
    assert chat(web, "fleksjob " + "a" * 1991, municipality="gladsaxe").status_code == 200


def test_health_reports_every_part_and_the_model(web, stack):
    from bot.model import fingerprint

    body = web.get("/health").json()
    # Events other tests queued for conversations this stack's Rasa never had may wait.
    assert isinstance(body.pop("queued_for_rasa"), int)
    assert body.pop("rasa_instances") == [{"url": stack.settings.rasa_url, "status": "ok"}]
    assert body == {"status": "ok", "rasa": "ok", "actions": "ok", "db": "ok", "model": fingerprint()}


def test_cpr_number_is_masked_before_rasa_and_logs(web, stack, settings):
    sender = new_sender()
    turn = chat(web, "mit cpr er 010190-1234 og jeg vil høre om fleksjob", sender, municipality="gladsaxe").json()
    assert "CPR-nummer" in turn[0]["text"]
    engine = create_engine(settings.tracker_database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT data FROM events WHERE sender_id = :s"), {"s": sender}).scalars().all()
    engine.dispose()
    assert stored and not any("010190" in row for row in stored)
    assert any("XXXXXX-XXXX" in row for row in stored)
    logs = "".join(p.read_text(errors="ignore") for p in (stack.log_dir or settings.var_dir).glob("*.log"))
    assert "010190" not in logs


def _turn_lines(stack) -> list[str]:
    log = (stack.log_dir / "web.log").read_text(errors="ignore")
    return [line for line in log.splitlines() if " turn " in line or '"event": "turn"' in line]


def test_one_log_line_per_turn_without_message_text(web, stack):
    secret_phrase = "hemmeligtordsprogxyz"
    before = len(_turn_lines(stack))
    chat(web, f"hvad er fleksjob {secret_phrase}", municipality="rudersdal")
    deadline = time.monotonic() + 10
    while len(_turn_lines(stack)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    line = _turn_lines(stack)[-1]
    for field in ("sender=", "intent=ask_question", "confidence=", "kind=", "topic=", "latency_ms="):
        assert field in line
    assert secret_phrase not in (stack.log_dir / "web.log").read_text(errors="ignore")


def test_openapi_documentation_is_served(web):
    assert web.get("/docs").status_code == 200
    assert "/api/chat" in web.get("/openapi.json").json()["paths"]
