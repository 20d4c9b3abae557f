"""Our tracker store (bot/rasa_tracker_store.py) reads a conversation back
exactly as Rasa's own SQL tracker store does, over several sessions, and
stores only the events it has not stored yet; run in Rasa's environment on
a real SQLite database."""

from __future__ import annotations

from tests.conftest import run_in_rasa

CHECK = """
import asyncio
import json
import sys
import tempfile

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_tracker_store import PrivateSQLTrackerStore

domain = Domain.load("domain.yml")
db = tempfile.mkdtemp() + "/tracker.db"
ours = PrivateSQLTrackerStore(domain, dialect="sqlite", db=db)
rasas = SQLTrackerStore(domain, dialect="sqlite", db=db)


def session(start, text):
    return [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start + 1),
        ActionExecuted("action_listen", timestamp=start + 2),
        UserUttered(text, {"name": "ask_question", "confidence": 0.9}, timestamp=start + 3),
        SlotSet("municipality", "gladsaxe", timestamp=start + 4),
        BotUttered("Svar", timestamp=start + 5),
        ActionExecuted("action_listen", timestamp=start + 6),
    ]


async def main():
    await ours.save(DialogueStateTracker.from_events("s1", session(100, "Hvad er et fleksjob?"), domain.slots))
    tracker = await ours.retrieve("s1")  # as Rasa does on each turn
    tracker.update_with_events(session(200, "Og løntilskud?"), domain)
    await ours.save(tracker)
    await ours.save(await ours.retrieve("s1"))  # nothing new: nothing stored twice
    read = [e.as_dict() for e in (await ours.retrieve("s1")).events]
    read_by_rasa = [e.as_dict() for e in (await rasas.retrieve("s1")).events]
    full = [e.as_dict() for e in (await ours.retrieve_full_tracker("s1")).events]
    full_by_rasa = [e.as_dict() for e in (await rasas.retrieve_full_tracker("s1")).events]
    with ours.session_scope() as s:
        stored = s.query(ours.SQLEvent).count()
    print(json.dumps({
        "last_session": len(read), "same": read == read_by_rasa,
        "full": len(full), "same_full": full == full_by_rasa,
        "stored": stored, "texts": [e.get("text") for e in read if e["event"] == "user"],
        "missing": await ours.retrieve("nobody") is None,
    }))


asyncio.run(main())
"""


def test_the_tracker_store_reads_what_rasas_own_reads_and_stores_each_event_once() -> None:
    result = run_in_rasa(CHECK)
    assert result["same"] and result["same_full"]
    assert result["texts"] == ["Og løntilskud?"]  # the last session only
    assert result["full"] == result["stored"] == 14
    assert result["missing"]
