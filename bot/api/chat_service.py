"""One chat turn through the front door: mask, route, normalise, log, record.

While a caseworker has claimed the citizen's live chat, the message goes to
the case thread and Rasa is not asked (its conversation is paused). While
the chat is closed for maintenance, the turn is answered here with the
closing message and the contact route. While the case waits in the queue,
the bot still answers, and both sides of the turn are added to the thread
so the caseworker sees them. Each bot turn is queued for the turn recorder
(bot/insights), whose own thread writes it off the turn's path; after the
response, the turn is logged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import BindParameter, Select, String, bindparam, select

from bot.api.monitor import Monitor
from bot.api.rasa_client import RasaClient, RasaUnavailableError
from bot.api.rasa_sync import RasaSync
from bot.api.schemas import ChatRequest
from bot.dialogue.answers import HUMAN_BUTTON
from bot.dialogue.contact import contact_route
from bot.dialogue.messages import Kind
from bot.dialogue.transcript import shown_text
from bot.dialogue.turns import QUEUE_POSITION
from bot.handoff import rasa_queue, service
from bot.insights import maintenance
from bot.insights.maintenance import Closure
from bot.insights.recorder import TurnRecorder
from bot.insights.records import FeedbackFacts, TurnFacts
from bot.knowledge import service as knowledge
from bot.logs import get_logger
from bot.privacy import hash_sender, mask_cpr
from bot.settings import Settings
from bot.storage.db import get_read_engine, read_one, session_scope
from bot.storage.models import CaseStatus, utcnow
from bot.taxonomy import Audience, Author, HandoffReason, Municipality, find_municipality

log = get_logger("bot.turn")

CPR_NOTICE = "Du skal ikke skrive dit CPR-nummer her. Jeg har fjernet det fra din besked, og det bliver ikke gemt."
EMPTY_TURN_TEXT = "Undskyld, der gik noget galt. Prøv at skrive din besked igen."
ALREADY_WITH_A_CASEWORKER = "Du skriver allerede med en medarbejder. Skriv bare din besked her."
_REST_KEYS = ("recipient_id", "text", "buttons", "custom", "image")


def normalise(raw: list[dict[str, Any]], sender: str) -> list[dict[str, Any]]:
    """Shape Rasa's REST output into the chat API's turn.

    Rasa sends a message's `custom` part as a separate message; it is folded
    back into the message before it. Exactly one message keeps `custom.kind`:
    the first; an empty turn becomes a fallback message.
    """
    turn: list[dict[str, Any]] = []
    for message in raw:
        message = {k: v for k, v in message.items() if k in _REST_KEYS}
        message["recipient_id"] = sender
        folds_back = set(message) == {"recipient_id", "custom"} and turn and "custom" not in turn[-1]
        if folds_back:
            turn[-1]["custom"] = message["custom"]
        else:
            turn.append(message)
    kinds = [m for m in turn if (m.get("custom") or {}).get("kind")]
    for extra in kinds[1:]:
        extra["custom"] = {k: v for k, v in extra["custom"].items() if k != "kind"}
    if not kinds:
        turn.append({"recipient_id": sender, "text": EMPTY_TURN_TEXT, "custom": {"kind": Kind.FALLBACK.value}})
    return turn


def take_nlu(turn: list[dict[str, Any]]) -> dict[str, Any]:
    """Remove the intent the action server added (custom.nlu) from the turn;
    return it for the log. Clients never see it."""
    return _take(turn, "nlu")


def take_feedback(turn: list[dict[str, Any]]) -> dict[str, Any]:
    """Remove what a feedback turn says of the answer before it
    (custom.feedback: helpful, article_id, question); return it for the
    turn record. Clients never see it."""
    return _take(turn, "feedback")


def _take(turn: list[dict[str, Any]], key: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for message in turn:
        custom = message.get("custom") or {}
        found = custom.pop(key, None) or found
    return found


def turn_kind(turn: list[dict[str, Any]]) -> dict[str, Any]:
    """The custom part that carries the turn's kind."""
    return next((m["custom"] for m in turn if (m.get("custom") or {}).get("kind")), {})


@dataclass(frozen=True)
class TurnResult:
    messages: list[dict[str, Any]]
    latency_ms: float
    cpr_masked: bool
    to_caseworker: bool = False
    #: The intent and confidence Rasa read, when a custom action answered.
    nlu: dict[str, Any] = field(default_factory=dict)
    #: What the turn recorder writes; None for a line to the caseworker.
    facts: TurnFacts | None = None


@dataclass(frozen=True)
class TurnState:
    """What the front door must know before a turn: the live chat's status,
    and whether events for Rasa still wait in the queue."""

    status: CaseStatus | None
    queued_for_rasa: bool
    #: The maintenance switch that closes this turn's chat, if one is on.
    closed: Closure | None = None
    #: The citizen's place in the live-chat queue while they wait.
    queue_position: int | None = None


@cache
def turn_state_query() -> Select[tuple[CaseStatus | None, int, bool, bool]]:
    """Everything a turn must know first, in one statement (built once)."""
    sender: BindParameter[str] = bindparam("sender", type_=String)
    status, place = service.live_chat(sender)
    return select(status, place, rasa_queue.pending(sender), maintenance.any_switch_on())


def _turn_state(sender: str, sender_hash: str, municipality: Municipality | None) -> TurnState:
    """One statement on a turn's path; the switches are read only while one is on."""
    status, place, pending, switched = read_one(get_read_engine(), turn_state_query(), {"sender": sender})
    closed = None
    if switched:
        with session_scope() as session:
            closed = maintenance.closed_for(session, municipality, sender_hash)
    return TurnState(status, pending, closed, place if status is CaseStatus.WAITING else None)


def _facts(sender_hash: str, text: str, metadata: dict[str, Any], turn: list[dict[str, Any]]) -> TurnFacts:
    """The turn as the recorder writes it: its municipality and audience from
    the request's metadata or the answer's custom, the intent from the action
    server (custom.nlu), the feedback it carries (custom.feedback)."""
    custom = turn_kind(turn)
    nlu, said = take_nlu(turn), take_feedback(turn)
    feedback = None
    if said.get("helpful") in ("ja", "nej"):
        feedback = FeedbackFacts(said["helpful"] == "ja", said.get("article_id"), said.get("question"))
    return TurnFacts(
        at=utcnow(),
        sender_hash=sender_hash,
        municipality=_known(Municipality, metadata.get("municipality") or custom.get("municipality")),
        audience=_known(Audience, metadata.get("audience") or custom.get("audience")),
        intent=nlu.get("intent"),
        confidence=nlu.get("confidence"),
        kind=str(custom.get("kind")),
        reason=custom.get("reason") or custom.get("offer") or custom.get("question"),
        topic=custom.get("topic"),
        article_id=custom.get("article_id"),
        latency_ms=0.0,
        text=text,
        feedback=feedback,
    )


def _known(enum: type[Municipality] | type[Audience], value: Any) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def _to_thread(sender: str, lines: list[tuple[Author, str]], crisis: bool) -> None:
    """A turn while the citizen waits in the queue: both sides go to the case
    thread, and crisis wording moves the case to the top of the queue."""
    with session_scope() as session:
        case = service.live_case(session, sender)
        if case is None:
            return
        for author, text in lines:
            service.record(case, author, text)
        if crisis:
            service.escalate(session, case, HandoffReason.CRISIS)


def _to_caseworker(sender: str, text: str, metadata: dict[str, Any]) -> None:
    """The citizen's line for the caseworker (a button as its label); the
    paused tracker keeps it too."""
    line = shown_text(text)
    with session_scope() as session:
        case = service.live_case(session, sender)
        if case is not None:
            service.record(case, Author.CITIZEN, line)
        rasa_queue.enqueue(session, sender, rasa_queue.citizen_line(line, metadata))


class ChatService:
    def __init__(
        self,
        settings: Settings,
        rasa: RasaClient,
        sync: RasaSync,
        monitor: Monitor,
        recorder: TurnRecorder | None = None,
    ) -> None:
        self.settings = settings
        self.rasa = rasa
        self.sync = sync
        self.monitor = monitor
        self.recorder = recorder

    def sender_hash(self, sender: str) -> str:
        return hash_sender(sender, self.settings.sender_hash_salt.get_secret_value())

    async def handle(self, request: ChatRequest) -> TurnResult:
        """Run one turn. Raises RasaUnavailableError when Rasa or the action
        server is down, at once when the monitor already knows it."""
        started = time.perf_counter()
        text, masked = mask_cpr(request.message)
        notice = [{"recipient_id": request.sender, "text": CPR_NOTICE}] if masked else []
        metadata = request.metadata.model_dump(exclude_none=True, mode="json")
        sender_hash = self.sender_hash(request.sender)
        named = request.metadata.municipality or find_municipality(text)
        state = await self._turn_state(request.sender, sender_hash, named)
        if state.status is CaseStatus.CLAIMED:
            turn = [*notice, await self._to_caseworker(request.sender, text, metadata)]
            return TurnResult(turn, self._since(started), masked, to_caseworker=True)
        if state.closed:
            turn = [*notice, self._closed(request.sender, state.closed, named)]
            return self._result(turn, started, masked, _facts(sender_hash, text, metadata, turn))
        # The dialogue tells a citizen who already waits their place, and never offers a caseworker again.
        to_rasa = {**metadata, QUEUE_POSITION: state.queue_position} if state.queue_position else metadata
        try:
            await self._rasa_ready(request.sender, state)
            raw = await self.rasa.send_message(request.sender, text, to_rasa)
        except RasaUnavailableError as exc:
            log.warning("turn", sender=self.sender_hash(request.sender), status="unavailable", part=str(exc))
            raise
        turn = [*notice, *normalise(raw, request.sender)]
        facts = _facts(sender_hash, text, metadata, turn)
        if state.status is CaseStatus.WAITING:
            lines = [(Author.CITIZEN, shown_text(text))] + [(Author.BOT, m["text"]) for m in turn if m.get("text")]
            crisis = turn_kind(turn).get("kind") == Kind.CRISIS.value
            await run_in_threadpool(_to_thread, request.sender, lines, crisis)
        return self._result(turn, started, masked, facts)

    async def _turn_state(self, sender: str, sender_hash: str, named: Municipality | None) -> TurnState:
        """The turn's state, read on the event loop from SQLite and in a
        worker thread from PostgreSQL. SQLite is a local file in WAL mode,
        where a read never waits for a writer; read as SQL compiled once
        (`read_one`), it takes a few hundredths of a millisecond, and the
        hop to a thread and back would cost more than the read. PostgreSQL
        is a network round trip."""
        if get_read_engine().dialect.name == "sqlite":
            return _turn_state(sender, sender_hash, named)
        return await run_in_threadpool(_turn_state, sender, sender_hash, named)

    def _result(self, turn: list[dict[str, Any]], started: float, masked: bool, facts: TurnFacts) -> TurnResult:
        """The turn's result; its record is queued for the recorder's thread
        now (a put on a queue), before the client can send a comment on it."""
        latency = self._since(started)
        facts = replace(facts, latency_ms=latency)
        if self.recorder:
            self.recorder.record(facts)
        nlu = {"intent": facts.intent, "confidence": facts.confidence} if facts.intent else {}
        return TurnResult(turn, latency, masked, nlu=nlu, facts=facts)

    def _closed(self, sender: str, closure: Closure, named: Municipality | None) -> dict[str, Any]:
        """The turn while the chat is closed: the message and where else to turn."""
        route = contact_route(knowledge.get_engine().kb, closure.municipality or named)
        custom = {"kind": Kind.CLOSED.value, "message": closure.message, "contact": route}
        if closure.municipality:
            custom["municipality"] = closure.municipality.value
        return {"recipient_id": sender, "text": f"{closure.message}\n{route}", "custom": custom}

    async def _to_caseworker(self, sender: str, text: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """A turn while a caseworker has the chat: the line goes to the case
        thread. "Tal med en medarbejder" is answered here: they already do."""
        claimed = {"kind": Kind.HANDOFF.value, "status": "claimed"}
        if text == HUMAN_BUTTON.payload:
            return {"recipient_id": sender, "text": ALREADY_WITH_A_CASEWORKER, "custom": claimed}
        await run_in_threadpool(_to_caseworker, sender, text, metadata)
        self.sync.nudge()
        return {"recipient_id": sender, "custom": {**claimed, "delivered": True}}

    async def _rasa_ready(self, sender: str, state: TurnState) -> None:
        """Fail fast when a part is known to be down; deliver queued events first."""
        if down := self.monitor.down():
            raise RasaUnavailableError(down)
        if state.queued_for_rasa and not await self.sync.flush(sender):
            raise RasaUnavailableError("rasa")

    @staticmethod
    def _since(started: float) -> float:
        return round((time.perf_counter() - started) * 1000, 1)

    async def log_turn(self, sender: str, result: TurnResult) -> None:
        """One INFO line per turn, without the message text. Async, so that
        as a background task it runs on the event loop after the response,
        not in a worker thread."""
        custom = turn_kind(result.messages)
        log.info(
            "turn",
            sender=self.sender_hash(sender),
            intent=result.nlu.get("intent"),
            confidence=result.nlu.get("confidence", 0.0),
            kind=custom.get("kind"),
            topic=custom.get("topic"),
            article=custom.get("article_id"),
            latency_ms=result.latency_ms,
            cpr_masked=result.cpr_masked,
            to_caseworker=result.to_caseworker,
        )
