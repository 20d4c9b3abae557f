"""CPR numbers are masked before anything stores them; senders are hashed in logs."""

from __future__ import annotations

import pytest

from bot.privacy import CPR_MASK, hash_sender, mask_cpr


@pytest.mark.parametrize(
    "cpr",
    [
        "010190-1234",  # DDMMYY-XXXX
        "010190 1234",  # DDMMYY XXXX
        "0101901234",  # ten digits in a row
        "311299-4321",  # last day of the year
        "290204-1234",  # 29 February 2004, a leap year
        "290200-1234",  # 29 February 2000, a leap year
    ],
)
def test_mask_cpr_masks_a_cpr_number_forming_a_valid_date(cpr: str) -> None:
    assert mask_cpr(f"Mit CPR-nummer er {cpr}, tak.") == (f"Mit CPR-nummer er {CPR_MASK}, tak.", True)


@pytest.mark.parametrize(
    "text",
    [
        "320112-1234",  # day 32
        "011312-1234",  # month 13
        "000190-1234",  # day 0
        "290201-1234",  # 29 February 2001, not a leap year
        "12345678",  # a phone number
        "12 34 56 78",  # a phone number with spaces
        "01019012345",  # eleven digits: longer than a CPR number
        "ref 12010190-1234",  # a longer number that contains a CPR-like tail
        "Løntilskud på 1.234.567 kr.",  # an amount
        "Vi har 25.000 ledige og 3.500 virksomheder",
        "Ring 70 201 201",
    ],
)
def test_mask_cpr_leaves_non_cpr_numbers_untouched(text: str) -> None:
    assert mask_cpr(text) == (text, False)


def test_mask_cpr_masks_every_cpr_number_in_a_text() -> None:
    text = "Mig: 010190-1234. Min søn: 0202151234. Tlf. 12345678."
    assert mask_cpr(text) == (f"Mig: {CPR_MASK}. Min søn: {CPR_MASK}. Tlf. 12345678.", True)


def test_mask_cpr_reports_nothing_masked_for_text_without_numbers() -> None:
    assert mask_cpr("Hvad er et fleksjob?") == ("Hvad er et fleksjob?", False)


def test_hash_sender_is_stable() -> None:
    assert hash_sender("citizen-42", "salt") == hash_sender("citizen-42", "salt")


def test_hash_sender_depends_on_the_salt() -> None:
    assert hash_sender("citizen-42", "salt") != hash_sender("citizen-42", "other salt")


def test_hash_sender_tells_senders_apart() -> None:
    assert hash_sender("citizen-42", "salt") != hash_sender("citizen-43", "salt")


def test_hash_sender_does_not_contain_the_sender() -> None:
    sender = "a1b2c3"
    hashed = hash_sender(sender, "salt")
    assert sender not in hashed
    assert len(hashed) == 16
