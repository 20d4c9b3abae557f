"""Rasa's tracker store, reached directly for the right to erasure.

Rasa's SQL tracker store keeps every event in the table `events`, keyed by
`sender_id`. Rasa's HTTP API cannot delete a conversation, so erasure deletes
its rows here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import inspect, text

from bot.storage.db import make_engine


def delete_tracker(tracker_database_url: str, sender: str) -> int:
    """Delete one conversation from the tracker store; return the rows deleted."""
    engine = make_engine(tracker_database_url)
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table("events"):
                return 0
            result = connection.execute(text("DELETE FROM events WHERE sender_id = :sender"), {"sender": sender})
            return result.rowcount or 0
    finally:
        engine.dispose()


def inactive_senders(tracker_database_url: str, before: datetime) -> list[str]:
    """Conversations whose last event is older than `before`."""
    engine = make_engine(tracker_database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("events"):
                return []
            rows = connection.execute(
                text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"),
                {"cutoff": before.timestamp()},
            )
            return [row[0] for row in rows]
    finally:
        engine.dispose()
