"""Insights without the running stack: turn records and feedback on a real
(SQLite) database, the report's figures, the grouping of unanswered
questions, the maintenance switch, the question behind a "nej", and the
roles' access to the caseworker app (in-process, the real app)."""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.api.main import create_app
from bot.dialogue import turns
from bot.dialogue.feedback import answered_question
from bot.handoff import service
from bot.insights import maintenance, records
from bot.insights.export import as_csv
from bot.insights.grouping import Asked, group_questions, question_key
from bot.insights.records import FeedbackFacts, TurnFacts
from bot.insights.report import Period, build_report, percentile
from bot.opening_hours import COPENHAGEN
from bot.storage.db import make_engine, session_scope
from bot.storage.migrate import migrate
from bot.storage.models import AuditEntry, Feedback, HandoffCase, Role, TurnRecord, utcnow
from bot.taxonomy import Audience, Author, Channel, HandoffReason, Municipality, Outcome, Team
from tests.conftest import CASEWORKER_PASSWORD, add_caseworker

# -- on a database of its own ------------------------------------------------------


@pytest.fixture
def sessions(tmp_path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'insights.db'}"
    migrate(url)
    engine = make_engine(url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)  # a Thursday, 13:00 in Copenhagen
PERIOD = Period(date(2026, 12, 1), date(2026, 12, 3))


def turn(kind: str, text: str = "", sender: str = "a" * 16, **facts) -> TurnFacts:
    defaults = {
        "at": NOW,
        "sender_hash": sender,
        "municipality": Municipality.GLADSAXE,
        "audience": Audience.BORGER,
        "intent": "ask_question",
        "confidence": 0.9,
        "reason": None,
        "topic": None,
        "article_id": None,
        "latency_ms": 100.0,
    }
    return TurnFacts(kind=kind, text=text, **{**defaults, **facts})


def write(sessions: sessionmaker[Session], *facts: TurnFacts) -> None:
    for one in facts:  # one transaction each, as the recorder may write them
        with sessions() as session, session.begin():
            records.store(session, one)


def test_only_turns_without_an_answer_keep_their_question_masked(sessions):
    write(
        sessions,
        turn("answer", "Hvad er et fleksjob?", article_id="gladsaxe-fleksjob", topic="fleksjob"),
        turn("fallback", "Ring til mig på 22 33 44 55, cpr 150387-1001, anne@example.dk", reason="no_answer"),
        turn("clarify", "Hvilken kommune?", reason="municipality"),
        turn("clarify", '/ask_question{"article_id":"x"}'),
    )
    with sessions() as session:
        kept = {r.kind + (r.reason or ""): r.question for r in session.scalars(select(TurnRecord))}
    assert kept["answer"] is None and kept["clarifymunicipality"] is None and kept["clarify"] is None
    assert kept["fallbackno_answer"] == "Ring til mig på [telefonnummer], cpr XXXXXX-XXXX, [e-mail]"


def test_a_nej_is_stored_against_the_answer_and_keeps_its_question(sessions):
    write(
        sessions,
        turn("answer", "Hvad er et fleksjob?", article_id="gladsaxe-fleksjob"),
        turn("answer", "Hvad er løntilskud?", article_id="gladsaxe-loentilskud"),
        turn(
            "smalltalk",
            '/give_feedback{"helpful":"nej"}',
            municipality=None,
            feedback=FeedbackFacts(False, "gladsaxe-fleksjob", "Hvad er et fleksjob? Ring 22 33 44 55"),
        ),
    )
    with sessions() as session, session.begin():
        answered = session.scalars(select(TurnRecord).where(TurnRecord.article_id == "gladsaxe-fleksjob")).one()
        feedback = session.scalars(select(Feedback)).one()
        assert (feedback.turn_id, feedback.article_id, feedback.helpful) == (answered.id, "gladsaxe-fleksjob", False)
        assert feedback.municipality is Municipality.GLADSAXE
        assert answered.question == "Hvad er et fleksjob? Ring [telefonnummer]"
        assert records.attach_comment(session, "a" * 16, "Mangler telefon: 44 55 66 77", now=NOW)
        assert not records.attach_comment(session, "a" * 16, "igen", now=NOW)  # one comment per nej
    with sessions() as session:
        assert session.scalars(select(Feedback)).one().comment == "Mangler telefon: [telefonnummer]"


def test_a_comment_comes_within_the_hour_or_not_at_all(sessions):
    write(sessions, turn("smalltalk", feedback=FeedbackFacts(False, None)))
    with sessions() as session, session.begin():
        assert not records.attach_comment(session, "a" * 16, "for sent", now=NOW + timedelta(hours=2))


def test_a_turn_without_a_municipality_belongs_to_the_conversations_last(sessions):
    write(sessions, turn("answer", article_id="x"), turn("fallback", "hm", municipality=None, reason="no_answer"))
    with sessions() as session:
        assert {r.municipality for r in session.scalars(select(TurnRecord))} == {Municipality.GLADSAXE}


def test_purge_and_erase_remove_turn_records_and_feedback(sessions):
    old = NOW - timedelta(days=40)
    write(
        sessions,
        turn("answer", at=old, article_id="x"),
        turn("smalltalk", at=old, feedback=FeedbackFacts(True, "x")),
        turn("answer", article_id="y", sender="b" * 16),
        turn("smalltalk", sender="b" * 16, feedback=FeedbackFacts(False, "y")),
        turn("fallback", "hvad", sender="c" * 16),
    )
    with sessions() as session, session.begin():
        assert records.purge(session, NOW - timedelta(days=30)) == 2
        assert records.erase(session, "b" * 16) == 2
    with sessions() as session:
        assert [r.sender_hash for r in session.scalars(select(TurnRecord))] == ["c" * 16]
        assert not session.scalars(select(Feedback)).all()


def case(session: Session, channel: Channel, created: datetime, wait: float | None, **fields) -> HandoffCase:
    new = service.NewCase(
        sender=secrets.token_urlsafe(16),
        municipality=fields.get("municipality", Municipality.GLADSAXE),
        team=fields.get("team", Team.BORGER),
        channel=channel,
        reason=fields.get("reason", HandoffReason.REQUEST_HUMAN),
        topic=None,
        article_ids=[],
        transcript=[(Author.CITIZEN, "Hjælp")],
        description="",
    )
    made = service.create_case(session, new)
    made.created_at = created
    if wait is not None:
        made.claimed_at = created + timedelta(seconds=wait)
    if "outcome" in fields:
        made.status, made.outcome_code = service.CaseStatus.CLOSED, fields["outcome"]
    return made


def test_the_report_counts_turns_feedback_unanswered_and_handoffs(sessions, settings):
    write(
        sessions,
        turn("answer", article_id="gladsaxe-fleksjob", topic="fleksjob"),
        turn("fallback", "Hvad er et flexjob i Gladsaxe?", reason="no_answer"),
        turn("fallback", "hvad er flexjob", reason="not_understood", sender="b" * 16),
        turn("handoff", "asdf", reason="fallback", sender="b" * 16),
        turn("smalltalk", feedback=FeedbackFacts(False, "gladsaxe-fleksjob", "Hvad er et fleksjob?")),
        turn("out_of_scope", "Hvornår åbner svømmehallen?", municipality=Municipality.RODOVRE, sender="c" * 16),
        turn("answer", at=NOW - timedelta(days=10), article_id="old"),
    )
    evening = datetime(2026, 12, 2, 20, 0, tzinfo=timezone.utc)  # 21:00 in Copenhagen, after hours
    with sessions() as session, session.begin():
        for wait in (60, 120, 600):
            case(session, Channel.CHAT, NOW, wait, outcome=Outcome.ANSWERED)
        case(session, Channel.CALLBACK, evening, None, team=Team.VIRKSOMHED, reason=HandoffReason.COMPLAINT)
        case(session, Channel.CALLBACK, NOW, None, municipality=Municipality.RODOVRE)
    hours = settings.model_copy(update={"opening_hours": dict.fromkeys(Municipality, "man-fre 09:00-15:00")})
    with sessions() as session:
        report = build_report(session, Municipality.GLADSAXE, PERIOD, hours)
    assert (report["turns"], report["conversations"]) == (5, 2)
    assert report["by_kind"] == {"fallback": 2, "answer": 1, "handoff": 1, "smalltalk": 1}
    assert report["dont_know_rate"] == 0.75  # 3 of 4 questions: two fallbacks and the offer after misses
    assert report["feedback"] == {"yes": 0, "no": 1}
    assert report["not_helpful"][0]["questions"] == ["Hvad er et fleksjob?"]
    assert report["unanswered"][0]["count"] == 2  # the same question, with and without the municipality
    assert report["top_articles"] == [{"article_id": "gladsaxe-fleksjob", "title": "gladsaxe-fleksjob", "count": 1}]
    handoffs = report["handoffs"]
    assert handoffs["count"] == 4 and handoffs["by_team"] == {"borger": 3, "virksomhed": 1}
    assert (handoffs["median_wait_s"], handoffs["p90_wait_s"]) == (120.0, 600.0)
    assert (handoffs["callbacks"], handoffs["callbacks_outside_hours"]) == (1, 1)
    assert handoffs["closed_by_outcome"] == {"answered": 3}
    assert "svømmehallen" not in str(report) and "Svømmehallen" not in as_csv(report)
    assert [d["turns"] for d in report["per_day"]] == [0, 0, 5]


def test_percentile_is_nearest_rank():
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0


def test_csv_cells_never_start_a_formula(sessions, settings):
    write(sessions, turn("fallback", '=HYPERLINK("x")', reason="no_answer"))
    with sessions() as session:
        cells = [
            cell
            for row in csv.reader(io.StringIO(as_csv(build_report(session, None, PERIOD, settings))), delimiter=";")
            for cell in row
        ]
    assert '\'=HYPERLINK("x")' in cells and not any(cell.startswith("=") for cell in cells)


def test_a_period_is_copenhagen_days():
    period = Period.last_days(7, today=date(2026, 12, 7))
    assert (period.first, period.last, len(period.days)) == (date(2026, 12, 1), date(2026, 12, 7), 7)
    assert period.start == datetime(2026, 12, 1, tzinfo=COPENHAGEN)
    with pytest.raises(ValueError):
        Period(date(2026, 12, 2), date(2026, 12, 1))


# -- grouping ----------------------------------------------------------------------


def test_near_duplicates_share_a_group_most_frequent_first():
    asked = ["Hvad er et fleksjob?"] * 2 + ["hvad er fleksjob", "Hvad er fleksjob i Rødovre?", "Hvad er et fleksjbo"]
    asked += ["Kan jeg få tilskud til en bil?", "kan jeg få tilskud til bil", "Hvad er løn i fleksjob?"]
    groups = group_questions(Asked(text) for text in asked)
    assert [(g.text, g.count) for g in groups] == [
        ("Hvad er et fleksjob?", 5),
        ("Kan jeg få tilskud til en bil?", 2),
        ("Hvad er løn i fleksjob?", 1),
    ]
    assert groups[0].variants == ["Hvad er et fleksjbo", "Hvad er fleksjob i Rødovre?", "hvad er fleksjob"]


def test_the_key_is_the_engines_stems_without_municipalities_or_masks():
    assert question_key("Hvad er et fleksjob i Gladsaxe?") == question_key("fleksjob") == "fleksjob"
    assert question_key("ring på [telefonnummer] om løntilskud") == question_key("ring om løntilskud")


# -- maintenance -------------------------------------------------------------------


def test_a_switch_closes_its_municipality_or_all(sessions):
    with sessions() as session, session.begin():
        assert maintenance.closed_for(session, Municipality.GLADSAXE, "a" * 16) is None
        maintenance.switch_on(session, Municipality.GLADSAXE, "", by=None)
        assert maintenance.closed_for(session, Municipality.GLADSAXE, "a" * 16).message == maintenance.DEFAULT_MESSAGE
        assert maintenance.closed_for(session, Municipality.RODOVRE, "a" * 16) is None
        maintenance.switch_on(session, None, "Lukket i dag.", by=None)
        assert maintenance.closed_for(session, Municipality.RODOVRE, "a" * 16).message == "Lukket i dag."
        assert maintenance.switch_off(session, None, by=None)
        assert not maintenance.switch_off(session, None, by=None)
        audited = [(a.action, a.detail) for a in session.scalars(select(AuditEntry))]
    assert audited[:2] == [("maintenance_on", "gladsaxe"), ("maintenance_on", "alle")]


def test_a_turn_naming_no_municipality_is_closed_by_its_conversations(sessions):
    write(sessions, turn("answer", article_id="x"))
    with sessions() as session, session.begin():
        maintenance.switch_on(session, Municipality.GLADSAXE, None, by=None)
        assert maintenance.closed_for(session, None, "a" * 16) is not None
        assert maintenance.closed_for(session, None, "z" * 16) is None


# -- the question behind a "nej" ---------------------------------------------------


def test_the_question_behind_an_answer_is_the_last_typed_message_before_it():
    events = [
        {"event": "user", "text": "Hvad er et fleksjob?"},
        {"event": "bot", "text": "Hvilken kommune?", "data": {"custom": {"kind": "clarify"}}},
        {"event": "user", "text": '/inform_municipality{"municipality":"gladsaxe"}'},
        {"event": "bot", "text": "Et fleksjob er ...", "data": {"custom": {"kind": "answer", "article_id": "a1"}}},
        {"event": "user", "text": '/give_feedback{"helpful":"nej"}'},
    ]
    assert answered_question(events, "a1") == "Hvad er et fleksjob?"
    assert answered_question(events, None) == "Hvad er et fleksjob?"
    assert answered_question(events, "other") is None


def test_feedback_tells_the_front_door_and_invites_a_comment_after_nej():
    nej = turns.feedback("nej", "a1", "Hvad er et fleksjob?").messages[0].custom
    ja = turns.feedback("ja", "a1", "Hvad er et fleksjob?").messages[0].custom
    assert nej["invite_comment"]
    assert nej["feedback"] == {"helpful": "nej", "article_id": "a1", "question": "Hvad er et fleksjob?"}
    assert "invite_comment" not in ja and ja["feedback"]["question"] is None


# -- roles in the caseworker app (in-process, the test database) -------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture
def client(settings, migrated) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as http:
        yield http


def login(client: TestClient, username: str) -> str:
    token = _CSRF.search(client.get("/caseworker/login").text).group(1)
    data = {"username": username, "password": CASEWORKER_PASSWORD, "csrf_token": token}
    assert client.post("/caseworker/login", data=data).status_code == 303
    return _CSRF.search(client.get("/caseworker/", follow_redirects=True).text).group(1)


def test_a_curator_sees_her_own_municipalitys_insights_and_no_cases(client):
    login(client, add_caseworker(Municipality.RODOVRE, None, "Lis Holm", role=Role.CURATOR))
    assert client.get("/caseworker/").headers["location"] == "/caseworker/insights"
    page = client.get("/caseworker/insights")
    assert page.status_code == 200 and "Indsigt: Rødovre" in page.text and 'name="kommune"' not in page.text
    for path in ("/caseworker/callbacks", "/caseworker/cases/1", "/caseworker/api/inbox"):
        assert client.get(path).status_code == 403
    for path in ("/caseworker/insights", "/caseworker/insights.csv", "/caseworker/api/insights"):
        assert client.get(path, params={"kommune": "gladsaxe"}).status_code == 403
    assert "Luk chatten" not in page.text


def test_a_caseworker_sees_no_insights(client):
    login(client, add_caseworker(Municipality.BALLERUP, Team.BORGER, "Mona Berg"))
    assert client.get("/caseworker/insights").status_code == 403
    assert "Indsigt" not in client.get("/caseworker/").text


def test_an_admin_sees_all_four_and_switches_the_chat(client):
    csrf = login(client, add_caseworker(Municipality.GLADSAXE, Team.BORGER, "Ada Admin", role=Role.ADMIN))
    page = client.get("/caseworker/insights", params={"kommune": "alle"})
    assert "Indsigt: alle fire kommuner" in page.text and "Indbakke" in page.text
    assert client.get("/caseworker/api/insights", params={"kommune": "rodovre"}).json()["municipality"] == "rodovre"
    closing = {"csrf_token": csrf, "state": "on", "kommune": "ballerup", "message": "Vi opdaterer."}
    assert client.post("/caseworker/maintenance", data=closing).status_code == 303
    assert "Lukket for Ballerup" in client.get("/caseworker/insights").text
    assert client.post("/caseworker/maintenance", data={**closing, "state": "off"}).status_code == 303
    with session_scope() as session:
        actions = [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(4))]
        assert actions[0] == "maintenance_off" and "maintenance_on" in actions


def test_a_closed_case_keeps_how_it_ended(client):
    username = add_caseworker(Municipality.BALLERUP, Team.BORGER, "Mona Berg")
    csrf = login(client, username)
    with session_scope() as session:
        made = case(session, Channel.CHAT, utcnow(), None, municipality=Municipality.BALLERUP)
        case_id = made.id
    assert client.post(f"/caseworker/cases/{case_id}/claim", data={"csrf_token": csrf}).status_code == 303
    assert 'name="result" value="follow_up"' in client.get(f"/caseworker/cases/{case_id}").text
    closing = {"csrf_token": csrf, "outcome": "Møde aftalt", "result": "follow_up"}
    assert client.post(f"/caseworker/cases/{case_id}/close", data=closing).status_code == 303
    with session_scope() as session:
        assert session.get(HandoffCase, case_id).outcome_code is Outcome.FOLLOW_UP
