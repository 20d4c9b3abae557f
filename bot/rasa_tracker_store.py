"""Rasa's SQL tracker store, whose errors never carry the conversation's data.

Runs inside the Rasa process; endpoints.yml and endpoints.production.yml
name it. SQLAlchemy puts a failed statement's parameters (here: the events,
with what the citizen wrote) into its error message, which Rasa logs. This
store is Rasa's own, with an engine that hides them.

It also reads a conversation's events as their JSON only. Rasa reads every
event of the session back on every turn and uses nothing of a row but its
JSON; making a full ORM object of each row was the largest part of a long
conversation's growing turn time.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs


class PrivateSQLTrackerStore(SQLTrackerStore):
    engine: sa.engine.Engine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, hide_parameters=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _event_query(self, session: Any, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        """Rasa's query for the conversation's events (the same rows, in the
        same order), selecting only their JSON."""
        query = super()._event_query(session, sender_id, fetch_events_from_all_sessions)
        return query.with_entities(self.SQLEvent.data)
