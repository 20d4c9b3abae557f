"""Tables of our database. Alembic migrations in migrations/ create them."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Dialect, Float, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.taxonomy import Audience, Author, Channel, Municipality, Outcome, Team


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(timezone.utc) if value else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


def _enum(enum: type[Enum], name: str) -> SqlEnum:
    return SqlEnum(enum, name=name, values_callable=lambda e: [m.value for m in e], native_enum=False, length=20)


class Role(str, Enum):
    """What an account may do. Caseworkers handle their team's cases;
    curators see their municipality's insights (never a case); admins do
    both, see all four municipalities' insights and switch the chat off."""

    CASEWORKER = "caseworker"
    CURATOR = "curator"
    ADMIN = "admin"

    @property
    def handles_cases(self) -> bool:
        return self in (Role.CASEWORKER, Role.ADMIN)

    @property
    def sees_insights(self) -> bool:
        return self in (Role.CURATOR, Role.ADMIN)

    @property
    def sees_all_municipalities(self) -> bool:
        return self is Role.ADMIN


class CaseStatus(str, Enum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    CLOSED = "closed"


class Caseworker(Base):
    __tablename__ = "caseworkers"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    municipality: Mapped[Municipality] = mapped_column(_enum(Municipality, "municipality"))
    #: None for curators, who handle no cases.
    team: Mapped[Team | None] = mapped_column(_enum(Team, "team"))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.CASEWORKER)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def first_name(self) -> str:
        return self.display_name.split()[0] if self.display_name.strip() else self.username


class HandoffCase(Base):
    __tablename__ = "handoff_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(64), index=True)
    municipality: Mapped[Municipality] = mapped_column(_enum(Municipality, "municipality"), index=True)
    team: Mapped[Team] = mapped_column(_enum(Team, "team"), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"), default=CaseStatus.WAITING, index=True)
    #: 1 is most urgent (crisis), larger numbers can wait longer.
    priority: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str | None] = mapped_column(String(40))
    article_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("caseworkers.id"))
    outcome: Mapped[str | None] = mapped_column(Text)
    #: How the case ended, for statistics; kept when purge removes the outcome text.
    outcome_code: Mapped[Outcome | None] = mapped_column(_enum(Outcome, "outcome"))
    #: Set when purge removed personal data and transcript.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    claimed_by: Mapped[Caseworker | None] = relationship()
    messages: Mapped[list[CaseMessage]] = relationship(
        back_populates="case", order_by="CaseMessage.id", cascade="all, delete-orphan"
    )


class CaseMessage(Base):
    """One entry in a case thread: transcript, live messages, notes, events."""

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("handoff_cases.id", ondelete="CASCADE"), index=True)
    author: Mapped[Author] = mapped_column(_enum(Author, "author"))
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("caseworkers.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[HandoffCase] = relationship(back_populates="messages")
    caseworker: Mapped[Caseworker | None] = relationship()


class OutboxMessage(Base):
    """A message waiting for the citizen's client (SSE or polling)."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEntry(Base):
    """Who viewed, claimed, replied to or closed which case, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("caseworkers.id"))
    action: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoginThrottle(Base):
    """One login-attempt counter: of a (username, client address) pair or of a
    client address (bot/caseworker/throttle.py). In the database so every web
    instance sees it; the key is a salted hash, so the table holds no usernames
    or addresses."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    #: No attempt is checked before this time.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The counter starts over (and purge deletes the row) from this time.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CannedReply(Base):
    """A ready-made reply a caseworker can insert, per municipality and team."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality: Mapped[Municipality] = mapped_column(_enum(Municipality, "municipality"))
    team: Mapped[Team] = mapped_column(_enum(Team, "team"))
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)


class CaseworkerSession(Base):
    """A logged-in caseworker. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "caseworker_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("caseworkers.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    caseworker: Mapped[Caseworker] = relationship()


class RasaEvent(Base):
    """A tracker event Rasa must get, kept until Rasa has it: pause, resume,
    and both sides' lines during a live chat. Delivered per conversation in id
    order, retried with back-off (bot/handoff/rasa_queue.py)."""

    __tablename__ = "rasa_event_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: While a front-door worker delivers it, no other worker may.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TurnRecord(Base):
    """One bot turn, for the insights page (bot/insights): what kind of turn
    it was, never the message text, except the masked question (CPR, phone,
    e-mail) of a turn the assistant could not answer or whose answer got
    "nej". Keyed by the hashed conversation id; purge and erase remove it."""

    __tablename__ = "turn_records"
    __table_args__ = (Index("ix_turn_records_municipality_at", "municipality", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    sender_hash: Mapped[str] = mapped_column(String(16), index=True)
    municipality: Mapped[Municipality | None] = mapped_column(_enum(Municipality, "municipality"))
    audience: Mapped[Audience | None] = mapped_column(_enum(Audience, "audience"))
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    #: The chat API's custom.kind (answer, clarify, fallback, closed, ...).
    kind: Mapped[str] = mapped_column(String(20))
    #: Why a turn was not an answer: custom.reason, the offer's reason or the question asked back.
    reason: Mapped[str | None] = mapped_column(String(40))
    topic: Mapped[str | None] = mapped_column(String(40))
    article_id: Mapped[str | None] = mapped_column(String(100))
    latency_ms: Mapped[float] = mapped_column(Float)
    question: Mapped[str | None] = mapped_column(Text)


class Feedback(Base):
    """The answer to "Var svaret en hjælp?", against the answer's turn and
    article, with the optional masked comment after a "nej"."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turn_records.id", ondelete="CASCADE"), index=True)
    sender_hash: Mapped[str] = mapped_column(String(16), index=True)
    municipality: Mapped[Municipality | None] = mapped_column(_enum(Municipality, "municipality"))
    article_id: Mapped[str | None] = mapped_column(String(100))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)


class MaintenanceSwitch(Base):
    """The chat is closed for a municipality (or for all, scope "alle") while
    this row exists: every turn gets the message and the contact route."""

    __tablename__ = "maintenance"

    scope: Mapped[str] = mapped_column(String(20), primary_key=True)
    message: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KnowledgeReload(Base):
    """A request that running action servers reload the knowledge base, and
    how it went (bot/knowledge/reload.py)."""

    __tablename__ = "knowledge_reloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: pending, loaded or refused.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    detail: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
