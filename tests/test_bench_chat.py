"""The benchmarks' view of a turn (bench/chat.py): its kind, and the
languages its messages are marked as written in."""

from __future__ import annotations

from bench.chat import Turn


def test_an_english_note_before_a_danish_message_marks_the_turn_english_not_its_kind():
    turn = Turn(
        [
            {"text": "I can only write in Danish ...", "custom": {"language": "en"}},
            {"text": "Jeg kan sætte dig i kontakt med en medarbejder.", "custom": {"kind": "handoff"}},
        ],
        12.0,
    )
    assert (turn.kind, turn.languages, turn.custom) == ("handoff", {"en"}, {"kind": "handoff"})
    assert Turn([{"text": "Hej", "custom": {"kind": "smalltalk"}}], 1.0).languages == set()
