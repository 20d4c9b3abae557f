"""The figures of the insights page, the CSV export and `bot.admin insights`,
for one period and one municipality (or all four).

Days are Copenhagen days. Turns and feedback come from the turn records
(bot/insights/records.py), handoffs from the cases: volume by reason and
team, time from request to claim, callbacks requested outside opening
hours, and how closed cases ended.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.insights.grouping import Asked, group_questions
from bot.insights.records import is_dont_know, is_question
from bot.knowledge.store import KnowledgeBase
from bot.opening_hours import COPENHAGEN, is_open
from bot.settings import Settings
from bot.storage.models import CaseStatus, Feedback, HandoffCase, TurnRecord
from bot.taxonomy import Channel, Municipality

#: How many rows the lists show.
TOP = 10
MAX_UNANSWERED = 50
#: The longest period one report covers.
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Copenhagen days from `first` to `last`, both included."""

    first: date
    last: date

    @classmethod
    def last_days(cls, days: int, today: date | None = None) -> Period:
        last = today or datetime.now(COPENHAGEN).date()
        return cls(last - timedelta(days=days - 1), last)

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")
        if (self.last - self.first).days >= MAX_DAYS:
            raise ValueError(f"the period is longer than {MAX_DAYS} days")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), COPENHAGEN)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), COPENHAGEN)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def _local_day(moment: datetime) -> date:
    return moment.astimezone(COPENHAGEN).date()


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (share 0.9 for the 90th), None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _scoped(query: Select[Any], column: Any, municipality: Municipality | None) -> Select[Any]:
    return query if municipality is None else query.where(column == municipality)


def _titled(kb: KnowledgeBase | None, article_id: str) -> str:
    try:
        return kb.article(article_id).title if kb else article_id
    except KeyError:
        return article_id


def _turns(
    session: Session, municipality: Municipality | None, period: Period, kb: KnowledgeBase | None
) -> dict[str, Any]:
    query = select(
        TurnRecord.at,
        TurnRecord.sender_hash,
        TurnRecord.kind,
        TurnRecord.reason,
        TurnRecord.topic,
        TurnRecord.article_id,
    ).where(TurnRecord.at >= period.start, TurnRecord.at < period.end)
    rows = session.execute(_scoped(query, TurnRecord.municipality, municipality)).all()
    turns_per_day = Counter(_local_day(row.at) for row in rows)
    senders_per_day: dict[date, set[str]] = defaultdict(set)
    for row in rows:
        senders_per_day[_local_day(row.at)].add(row.sender_hash)
    answers = [row for row in rows if row.kind == "answer"]
    questions = sum(is_question(row.kind, row.reason) for row in rows)
    dont_know = sum(is_dont_know(row.kind, row.reason) for row in rows)
    return {
        "turns": len(rows),
        "conversations": len({row.sender_hash for row in rows}),
        "per_day": [
            {"date": day.isoformat(), "turns": turns_per_day[day], "conversations": len(senders_per_day[day])}
            for day in period.days
        ],
        "by_kind": dict(Counter(row.kind for row in rows).most_common()),
        "questions": questions,
        "dont_know": dont_know,
        "dont_know_rate": round(dont_know / questions, 4) if questions else None,
        "top_articles": [
            {"article_id": article, "title": _titled(kb, article), "count": count}
            for article, count in Counter(row.article_id for row in answers if row.article_id).most_common(TOP)
        ],
        "top_topics": [
            {"topic": topic, "count": count}
            for topic, count in Counter(row.topic for row in answers if row.topic).most_common(TOP)
        ],
    }


def _feedback(
    session: Session, municipality: Municipality | None, period: Period, kb: KnowledgeBase | None
) -> dict[str, Any]:
    query = (
        select(Feedback.article_id, Feedback.helpful, Feedback.comment, TurnRecord.question)
        .outerjoin(TurnRecord, Feedback.turn_id == TurnRecord.id)
        .where(Feedback.at >= period.start, Feedback.at < period.end)
    )
    rows = session.execute(_scoped(query, Feedback.municipality, municipality)).all()
    articles: dict[str, dict[str, Any]] = {}
    for row in rows:
        article = articles.setdefault(row.article_id or "", {"yes": 0, "no": 0, "comments": [], "questions": []})
        article["yes" if row.helpful else "no"] += 1
        if row.comment:
            article["comments"].append(row.comment)
        if not row.helpful and row.question:
            article["questions"].append(row.question)
    worst = sorted((a for a in articles.items() if a[1]["no"]), key=lambda a: (-a[1]["no"], a[0]))[:TOP]
    return {
        "feedback": {"yes": sum(row.helpful for row in rows), "no": sum(not row.helpful for row in rows)},
        "not_helpful": [
            {"article_id": article_id or None, "title": _titled(kb, article_id) if article_id else None, **counts}
            for article_id, counts in worst
        ],
    }


def _unanswered(session: Session, municipality: Municipality | None, period: Period) -> list[dict[str, Any]]:
    query = select(TurnRecord.question, TurnRecord.municipality, TurnRecord.audience).where(
        TurnRecord.at >= period.start,
        TurnRecord.at < period.end,
        TurnRecord.question.is_not(None),
        TurnRecord.kind != "answer",  # an answer keeps its question only after a "nej"
    )
    rows = session.execute(_scoped(query, TurnRecord.municipality, municipality)).all()
    groups = group_questions(Asked(row.question, row.municipality, row.audience) for row in rows)
    return [
        {
            "text": group.text,
            "count": group.count,
            "variants": group.variants,
            "municipality": group.municipality.value if group.municipality else None,
            "audience": group.audience.value if group.audience else None,
        }
        for group in groups[:MAX_UNANSWERED]
    ]


def _handoffs(
    session: Session, municipality: Municipality | None, period: Period, settings: Settings
) -> dict[str, Any]:
    query = select(HandoffCase).where(HandoffCase.created_at >= period.start, HandoffCase.created_at < period.end)
    cases = session.scalars(_scoped(query, HandoffCase.municipality, municipality)).all()
    waits = [(c.claimed_at - c.created_at).total_seconds() for c in cases if c.claimed_at]
    callbacks = [c for c in cases if c.channel is Channel.CALLBACK]
    outside = [c for c in callbacks if not is_open(settings.opening_hours[c.municipality], c.created_at)]
    closed = [c for c in cases if c.status is CaseStatus.CLOSED]
    return {
        "count": len(cases),
        "by_reason": dict(Counter(c.reason for c in cases).most_common()),
        "by_team": dict(Counter(c.team.value for c in cases).most_common()),
        "claimed": len(waits),
        "waiting": sum(c.status is CaseStatus.WAITING for c in cases),
        "median_wait_s": round(statistics.median(waits), 1) if waits else None,
        "p90_wait_s": round(p90, 1) if (p90 := percentile(waits, 0.9)) is not None else None,
        "callbacks": len(callbacks),
        "callbacks_outside_hours": len(outside),
        "closed_by_outcome": dict(
            Counter(c.outcome_code.value if c.outcome_code else "unknown" for c in closed).most_common()
        ),
    }


def build_report(
    session: Session,
    municipality: Municipality | None,
    period: Period,
    settings: Settings,
    kb: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """Every figure for the period and municipality (None: all four), JSON-ready."""
    return {
        "municipality": municipality.value if municipality else None,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "days": len(period.days),
        **_turns(session, municipality, period, kb),
        **_feedback(session, municipality, period, kb),
        "unanswered": _unanswered(session, municipality, period),
        "handoffs": _handoffs(session, municipality, period, settings),
    }
