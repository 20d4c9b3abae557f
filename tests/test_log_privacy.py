"""After every other test: no log line of any process the tests started holds
a conversation id, a username, a CPR number or a contact detail the tests
typed. The logs are those of every stack the suite ran (test-artifacts/logs)."""

from __future__ import annotations

import pytest

from tests.conftest import ARTIFACTS, SENDERS, USERNAMES

pytestmark = [pytest.mark.integration, pytest.mark.last]

#: CPR numbers and contact details typed somewhere in the integration tests.
TYPED = ("0101901234", "010190-1234", "150387", "12 34 56 78", "12345678", "kim@example.org")
TYPED += ("22 33 44 55", "22334455", "anne.testesen@example.dk")  # tests/test_insights_flow.py


def test_no_personal_data_in_any_log():
    logs = {path: path.read_text(errors="replace") for path in (ARTIFACTS / "logs").rglob("*.log")}
    assert logs, "the suite left no logs to check"
    assert len(SENDERS) > 10, "the suite made too few conversations for this check to mean anything"
    for path, text in logs.items():
        leaked = [value for value in (*SENDERS, *USERNAMES, *TYPED) if value in text]
        assert not leaked, f"{path.relative_to(ARTIFACTS)} holds {leaked[:3]}"
