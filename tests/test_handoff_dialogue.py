"""The handoff form's checks and messages, and the chat's opening hours."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.dialogue import handoff
from bot.dialogue.messages import Kind
from bot.opening_hours import COPENHAGEN, describe, is_open, parse_hours
from bot.storage.models import Channel
from bot.taxonomy import Audience, HandoffReason, Team

WEEKDAYS = "man-fre 09:00-15:00"
SPLIT_WEEK = "man-tor 09:00-15:00; fre 09:00-13:00"


def copenhagen(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A moment in Copenhagen. 23 November 2026 is a Monday, 28 November a Saturday."""
    return datetime(2026, month, day, hour, minute, tzinfo=COPENHAGEN)


# -- contact details ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["12345678", "12 34 56 78", "+45 12 34 56 78", "0045 12345678", "+4512345678", "12-34-56-78", " 12345678 "],
)
def test_check_contact_accepts_danish_phone_numbers(text: str) -> None:
    assert handoff.check_contact(text) == handoff.Checked("12 34 56 78")


@pytest.mark.parametrize("text", ["navn@eksempel.dk", "Navn@Eksempel.DK", "  navn@eksempel.dk "])
def test_check_contact_accepts_an_email_in_lower_case(text: str) -> None:
    assert handoff.check_contact(text) == handoff.Checked("navn@eksempel.dk")


@pytest.mark.parametrize("text", ["1234567", "123456789", "abc", "navn@", "@eksempel.dk", "", "+46 12345678"])
def test_check_contact_rejects_anything_else_with_a_danish_message(text: str) -> None:
    checked = handoff.check_contact(text)
    assert checked.value is None
    assert checked.problem is not None
    assert checked.problem.startswith("Det ligner ikke et telefonnummer eller en e-mailadresse.")
    assert "8 cifre" in checked.problem


# -- name --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["spring over", "Spring over", "spring navnet over", "skip", "nej", "Nej tak.", "-", "vil ikke oplyse mit navn"],
)
def test_check_name_accepts_skip_words(text: str) -> None:
    assert handoff.check_name(text) == handoff.Checked(handoff.SKIPPED)


def test_check_name_keeps_a_name_with_tidy_spaces() -> None:
    assert handoff.check_name("  Anna   Sørensen ") == handoff.Checked("Anna Sørensen")


@pytest.mark.parametrize("text", ["Anna 2", "010190-1234", "x" * 101])
def test_check_name_rejects_digits_and_very_long_text(text: str) -> None:
    checked = handoff.check_name(text)
    assert checked.value is None
    assert checked.problem == "Skriv dit navn uden tal, eller vælg «Spring over»."


@pytest.mark.parametrize("text", ["hvad sker der nu?", "jeg vil hellere bare have svar på mit spørgsmål"])
def test_check_name_rejects_a_question_or_a_sentence(text: str) -> None:
    checked = handoff.check_name(text)
    assert checked.value is None
    assert checked.problem is not None and checked.problem.startswith("Skriv kun dit navn her")


def test_check_name_keeps_a_long_name() -> None:
    assert handoff.check_name("Anna Marie Holm Sørensen") == handoff.Checked("Anna Marie Holm Sørensen")


# -- channel -----------------------------------------------------------------


@pytest.mark.parametrize("text", [handoff.CHAT_NOW, "chat", "Jeg vil gerne chatte", "med det samme", "nu"])
def test_check_channel_chat_when_open(text: str) -> None:
    assert handoff.check_channel(text, True, WEEKDAYS) == handoff.Checked(Channel.CHAT.value)


@pytest.mark.parametrize(
    "text", [handoff.CALL_ME, "ring til mig", "I må gerne ringe", "send en mail", "telefon", "kontakt mig"]
)
@pytest.mark.parametrize("open_now", [True, False])
def test_check_channel_callback_open_or_closed(text: str, open_now: bool) -> None:
    assert handoff.check_channel(text, open_now, WEEKDAYS) == handoff.Checked(Channel.CALLBACK.value)


def test_check_channel_refuses_chat_when_closed_and_says_when_it_opens() -> None:
    checked = handoff.check_channel(handoff.CHAT_NOW, False, SPLIT_WEEK)
    assert checked.value is None
    assert checked.problem == (
        "Chatten er lukket lige nu. Den er åben mandag til torsdag kl. 09:00-15:00 og fredag kl. 09:00-13:00."
    )


def test_check_channel_asks_again_for_an_unclear_answer() -> None:
    checked = handoff.check_channel("måske", True, WEEKDAYS)
    assert checked == handoff.Checked(None, "Vælg en af knapperne, eller skriv «chat» eller «ring».")


# -- description and municipality --------------------------------------------


def test_check_description_keeps_trimmed_text() -> None:
    assert handoff.check_description("  Jeg har spørgsmål om fleksjob ") == handoff.Checked(
        "Jeg har spørgsmål om fleksjob"
    )


@pytest.mark.parametrize("text", ["", "ok", "x" * (handoff.MAX_DESCRIPTION + 1)])
def test_check_description_rejects_too_short_or_too_long(text: str) -> None:
    checked = handoff.check_description(text)
    assert checked.value is None
    assert checked.problem


def test_check_municipality() -> None:
    assert handoff.check_municipality("Jeg bor i Rødovre") == handoff.Checked("rodovre")
    assert handoff.check_municipality("Aarhus").problem == (
        "Den kommune kender jeg ikke. Vælg Ballerup, Gladsaxe, Rødovre eller Rudersdal."
    )


# -- form plan, priority, team -----------------------------------------------


@pytest.mark.parametrize(
    ("channel", "municipality_known", "expected"),
    [
        (None, True, ["handoff_channel", "handoff_description"]),
        (None, False, ["municipality", "handoff_channel", "handoff_description"]),
        ("chat", True, ["handoff_channel", "handoff_description"]),
        ("callback", True, ["handoff_channel", "contact_name", "contact_info", "handoff_description"]),
        ("callback", False, ["municipality", "handoff_channel", "contact_name", "contact_info", "handoff_description"]),
    ],
)
def test_required_slots(channel: str | None, municipality_known: bool, expected: list[str]) -> None:
    assert handoff.required_slots(channel, municipality_known) == expected


@pytest.mark.parametrize(
    ("reason", "priority"),
    [("crisis", 1), ("complaint", 2), ("personal_case", 2), ("fallback", 3), ("request_human", 3)],
)
def test_every_reason_has_a_priority_and_a_danish_label(reason: str, priority: int) -> None:
    assert HandoffReason(reason).priority == priority
    assert HandoffReason(reason).label


@pytest.mark.parametrize(
    ("audience", "text", "team"),
    [
        (Audience.VIRKSOMHED, "", Team.VIRKSOMHED),
        (None, "Kan jeg tale med en Virksomhedskonsulent?", Team.VIRKSOMHED),
        (Audience.BORGER, "", Team.BORGER),
        (None, "Jeg vil tale med en medarbejder", Team.BORGER),
    ],
)
def test_team_for(audience: Audience | None, text: str, team: Team) -> None:
    assert handoff.team_for(audience, text) is team


# -- messages ----------------------------------------------------------------


def test_every_form_question_can_be_cancelled() -> None:
    questions = [
        handoff.ask_channel(WEEKDAYS, True),
        handoff.ask_channel(WEEKDAYS, False),
        handoff.ask_name(),
        handoff.ask_contact(),
        handoff.ask_description(),
        handoff.ask_municipality(),
    ]
    for message in questions:
        assert message.buttons[-1] == handoff.CANCEL_BUTTON
        assert message.custom == {"kind": Kind.FORM.value}
    assert handoff.CANCEL_BUTTON.payload == "/stop"


def test_closed_chat_offers_only_a_callback_and_says_the_hours() -> None:
    message = handoff.ask_channel(WEEKDAYS, False)
    assert [b.title for b in message.buttons] == [handoff.CALL_ME, "Fortryd"]
    assert "De er online mandag til fredag kl. 09:00-15:00." in (message.text or "")


def test_open_chat_offers_chat_and_callback() -> None:
    assert [b.title for b in handoff.ask_channel(WEEKDAYS, True).buttons] == [
        handoff.CHAT_NOW,
        handoff.CALL_ME,
        "Fortryd",
    ]


def test_description_question_warns_against_cpr() -> None:
    assert "Skriv ikke dit CPR-nummer." in (handoff.ask_description().text or "")


def test_intro_names_the_team() -> None:
    assert "en virksomhedskonsulent" in (handoff.intro(Team.VIRKSOMHED).text or "")
    assert handoff.intro(Team.BORGER).custom == {"kind": Kind.HANDOFF.value, "team": "borger"}


@pytest.mark.parametrize(("position", "ahead"), [(1, "Du er den næste i køen."), (3, "Der er 2 før dig i køen.")])
def test_submitted_chat_says_the_queue_position(position: int, ahead: str) -> None:
    message = handoff.submitted(Channel.CHAT, None, position)
    assert ahead in (message.text or "")
    assert message.custom == {"kind": Kind.FORM.value, "handoff": "chat", "queue": position}


def test_submitted_callback_repeats_the_contact() -> None:
    message = handoff.submitted(Channel.CALLBACK, "12 34 56 78", 1)
    assert "En medarbejder kontakter dig på 12 34 56 78 i åbningstiden." in (message.text or "")


# -- opening hours -----------------------------------------------------------


def test_parse_hours_reads_day_ranges_and_single_days() -> None:
    monday_to_thursday, friday = parse_hours(SPLIT_WEEK)
    assert monday_to_thursday.days == frozenset({0, 1, 2, 3})
    assert friday.days == frozenset({4})
    assert (friday.opens.isoformat(), friday.closes.isoformat()) == ("09:00:00", "13:00:00")


@pytest.mark.parametrize(
    "spec",
    [
        "mandag-fredag 09:00-15:00",
        "man-fre 9:00-15:00",
        "man-fre 09.00-15.00",
        "man-xyz 09:00-15:00",
        "Man-fre 09:00-15:00",
        "man-fre 09:00-25:00",
        "man-fre 09:00",
        "hele ugen",
    ],
)
def test_parse_hours_rejects_malformed_specs(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_hours(spec)


@pytest.mark.parametrize(
    "spec",
    [
        "fre-man 09:00-15:00",
        "man 15:00-09:00",
        "",
    ],
)
def test_parse_hours_rejects_specs_that_can_never_be_open(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_hours(spec)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (copenhagen(23, 9, 0), True),  # Monday, opening minute
        (copenhagen(23, 8, 59), False),  # Monday, before opening
        (copenhagen(26, 14, 59), True),  # Thursday
        (copenhagen(27, 12, 59), True),  # Friday, before the early close
        (copenhagen(27, 13, 0), False),  # Friday, closed at 13
        (copenhagen(26, 15, 0), False),  # Thursday, closing time is closed
        (copenhagen(28, 10, 0), False),  # Saturday
        (copenhagen(29, 10, 0), False),  # Sunday
    ],
)
def test_is_open_follows_days_and_hours(moment: datetime, expected: bool) -> None:
    assert is_open(SPLIT_WEEK, moment) is expected


def test_is_open_uses_copenhagen_time_in_winter_and_summer() -> None:
    assert is_open(WEEKDAYS, datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc))  # 09:30 CET
    assert not is_open(WEEKDAYS, datetime(2026, 11, 23, 14, 30, tzinfo=timezone.utc))  # 15:30 CET
    assert is_open(WEEKDAYS, datetime(2026, 6, 1, 7, 30, tzinfo=timezone.utc))  # 09:30 CEST
    assert not is_open(WEEKDAYS, datetime(2026, 6, 1, 6, 30, tzinfo=timezone.utc))  # 08:30 CEST


def test_24_00_means_open_until_midnight() -> None:
    around_the_clock = "man-søn 00:00-24:00"
    assert is_open(around_the_clock, copenhagen(29, 23, 59))  # Sunday night
    assert is_open(around_the_clock, copenhagen(23, 0, 0))  # Monday midnight
    assert is_open(around_the_clock, copenhagen(28, 12, 0))  # Saturday noon


def test_weekend_hours() -> None:
    weekend = "lør-søn 10:00-14:00"
    assert is_open(weekend, copenhagen(28, 11, 0))
    assert is_open(weekend, copenhagen(29, 13, 59))
    assert not is_open(weekend, copenhagen(27, 11, 0))  # Friday


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (WEEKDAYS, "mandag til fredag kl. 09:00-15:00"),
        ("lør 10:00-12:00", "lørdag kl. 10:00-12:00"),
        (SPLIT_WEEK, "mandag til torsdag kl. 09:00-15:00 og fredag kl. 09:00-13:00"),
        (
            "man 09:00-12:00; ons 09:00-12:00; fre 10:00-11:00",
            "mandag kl. 09:00-12:00, onsdag kl. 09:00-12:00 og fredag kl. 10:00-11:00",
        ),
        ("man-søn 00:00-24:00", "mandag til søndag kl. 00:00-24:00"),
    ],
)
def test_describe_in_plain_danish(spec: str, text: str) -> None:
    assert describe(spec) == text
