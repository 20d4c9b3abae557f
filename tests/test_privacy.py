"""CPR numbers are masked before anything stores them; phone numbers and e-mail
addresses too in text kept for statistics; senders are hashed in logs."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.privacy import CPR_MASK, EMAIL_MASK, PHONE_MASK, hash_sender, mask_contact, mask_cpr, mask_personal


def _json_escaped(digits: str) -> str:
    return "".join(f"\\u{ord(digit):04x}" for digit in digits)


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
        "+45 12345678",  # a phone number with the country code
        "+45 12 34 56 78",
        "0045 12345678",
        "Født 15.03.1987",  # a date alone
        "Født 15-03-87",
        "Beløbet er 150.387 kr.",
        "Ordrenummer 150387100112",  # twelve digits
        "Ordrenummer 15038710011",  # eleven digits
        "Ordre 11503871001",  # eleven digits, the last ten a CPR number
        "321387-1234",  # day 32
        "150087-1234",  # month 0
        "300287-1234",  # 30 February
        "150387-123",  # only nine digits
        "15.03.87",
        "2 x 150387 stk.",
    ],
)
def test_mask_cpr_leaves_non_cpr_numbers_untouched(text: str) -> None:
    assert mask_cpr(text) == (text, False)


@pytest.mark.parametrize(
    "cpr",
    [
        "150387-1001",
        "1503871002",
        "150387 1003",
        "150387\u00a01004",  # non-breaking space
        "150387\u20131005",  # en dash
        "150387\u20111005",  # non-breaking hyphen
        "150387\u20121005",  # figure dash
        "150387\u20141005",  # em dash
        "150387\u22121005",  # minus sign
        "150387\u202f1005",  # narrow non-breaking space
        "150387\u20091005",  # thin space
        "150387 - 1006",
        "150387 – 1006",
        "15.03.87-1007",
        "15 03 87 1008",
        "1503 87 1013",
        "150387/1014",
        "15/03/87/1014",
        "150387  1015",  # two spaces
        "15\u200b0387-1015",  # a zero-width space inside
        "\uff11\uff15\uff10\uff13\uff18\uff17\uff0d\uff11\uff10\uff11\uff16",  # fullwidth digits and hyphen
        "\u0661\u0665\u0660\u0663\u0668\u0667-\u0661\u0660\u0661\u0667",  # Arabic-Indic digits
        "\u0967\u096b\u0966\u0969\u096e\u096d\u0967\u0966\u0967\u096e",  # Devanagari digits
        "15０３87-1019",  # mixed ASCII and fullwidth
    ],
)
def test_mask_cpr_masks_every_way_of_writing_a_cpr_number(cpr: str) -> None:
    assert mask_cpr(f"Mit CPR-nummer er {cpr}, tak.") == (f"Mit CPR-nummer er {CPR_MASK}, tak.", True)


def test_mask_cpr_keeps_a_prefix_glued_to_the_number() -> None:
    assert mask_cpr("cpr-150387-1009") == (f"cpr-{CPR_MASK}", True)
    assert mask_cpr("CPR:150387-1009.") == (f"CPR:{CPR_MASK}.", True)


@pytest.mark.parametrize(
    "escaped",
    [
        _json_escaped("1503871010"),  # every digit escaped
        "15" + _json_escaped("0387") + "-1011",  # some digits escaped
        "150387\\u00a01012",  # an escaped non-breaking space
        "150387\\u20131012",  # an escaped en dash
        "150387\\/1014",  # an escaped slash
        "\\uff11\\uff15\\uff10\\uff13\\uff18\\uff17\\uff11\\uff10\\uff11\\uff16",  # escaped fullwidth digits
        "\\ud835\\udfcf503871017",  # mathematical bold one as a surrogate pair
    ],
)
def test_mask_cpr_masks_digits_escaped_in_a_button_payload(escaped: str) -> None:
    payload = f'/give_feedback{{"comment":"{escaped}"}}'
    assert mask_cpr(payload) == (f'/give_feedback{{"comment":"{CPR_MASK}"}}', True)


def test_mask_cpr_masks_every_cpr_number_in_a_text() -> None:
    text = "Mig: 010190-1234. Min søn: 0202151234. Tlf. 12345678."
    assert mask_cpr(text) == (f"Mig: {CPR_MASK}. Min søn: {CPR_MASK}. Tlf. 12345678.", True)


def test_mask_cpr_masks_a_cpr_number_written_next_to_another_number() -> None:
    assert mask_cpr("Tlf. 12345678 150387-1001") == (f"Tlf. 12345678 {CPR_MASK}", True)


def test_mask_cpr_finds_a_cpr_number_that_starts_inside_a_number_that_is_no_date() -> None:
    # "30 02 15 03 87" is ten digits but 30 February is no date; the CPR number after it must still be found.
    assert mask_cpr("Sag 30 02 150387-1001") == (f"Sag 30 02 {CPR_MASK}", True)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Ring på 22 33 44 55 15 03 87 10 01", f"Ring på 22 33 44 55 {CPR_MASK}"),
        ("15 03 87 10 01 22 33 44 55", f"{CPR_MASK} 22 33 44 55"),
        ("22 33 44 55 / 15 03 87 10 01 / 70 20 12 01", f"22 33 44 55 / {CPR_MASK} / 70 20 12 01"),
    ],
)
def test_mask_cpr_masks_a_cpr_number_in_pairs_beside_phone_numbers_in_pairs(text: str, masked: str) -> None:
    assert mask_cpr(text) == (masked, True)


@pytest.mark.parametrize(
    "text",
    [
        "Mødet er 15.03.2026 10:30 på jobcentret",  # a date and a time
        "Ring på 70 20 12 01 / 12 34 56 78",  # two phone numbers side by side
        "Tider: 01.02.2027 1400",
    ],
)
def test_mask_cpr_leaves_dates_times_and_phone_runs_alone(text: str) -> None:
    assert mask_cpr(text) == (text, False)


def test_mask_cpr_reports_nothing_masked_for_text_without_numbers() -> None:
    assert mask_cpr("Hvad er et fleksjob?") == ("Hvad er et fleksjob?", False)


#: Spaces of every width: normal, two, no-break, narrow no-break, thin, ideographic.
_SPACES = [" ", "  ", "\u00a0", "\u202f", "\u2009", "\u3000"]
#: Hyphen-minus, hyphen, non-breaking hyphen, figure/en/em dash, horizontal bar, minus, fullwidth hyphen-minus.
_DASHES = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\uff0d"]
#: What people put between the digits: nothing, a space, a dash, a dot, a slash, or a few of them.
_SEPARATORS = st.sampled_from(["", *_SPACES, *_DASHES, ".", "/", " - ", " \u2013 ", ". "])
#: Danish text around a number: letters, punctuation and spaces, never a digit.
_DANISH_TEXT = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzæøåABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ .,:;!?()-–/\"'\u00a0", max_size=30
)


def _written(digit: int) -> st.SearchStrategy[str]:
    """The digit in ASCII, in any script's decimal digits (each script's run 0-9), or as a JSON escape."""
    any_script = st.characters(categories=("Nd",)).map(lambda c: chr(ord(c) - unicodedata.decimal(c) + digit))
    return st.just(str(digit)) | any_script | st.just(_json_escaped(str(digit)))


_WRITTEN_DIGITS = [_written(digit) for digit in range(10)]


@st.composite
def _written_number(draw: st.DrawFn, digits: str) -> str:
    """The digits as a person might write them: any digit forms, any separators between any two digits."""
    first, *rest = (draw(_WRITTEN_DIGITS[int(digit)]) for digit in digits)
    return first + "".join(draw(_SEPARATORS) + form for form in rest)


@st.composite
def _written_cpr(draw: st.DrawFn, digits: str) -> str:
    """A CPR number as a person writes it: any digit forms and separators, with
    a separator after the date whenever the date has one (15.03.87-1007)."""
    forms = [draw(_WRITTEN_DIGITS[int(digit)]) for digit in digits]
    gaps = [draw(_SEPARATORS) for _ in range(9)]
    if any(gaps[:5]) and not gaps[5]:
        gaps[5] = draw(_SEPARATORS.filter(bool))
    return forms[0] + "".join(gap + form for gap, form in zip(gaps, forms[1:], strict=True))


_CPR_NUMBERS = st.builds(
    lambda born, serial: f"{born:%d%m%y}{serial}",
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)
_PHONE_NUMBERS = st.builds(
    lambda first, rest: f"{first}{rest}",
    st.sampled_from("23456789"),  # Danish numbers do not start with 0 or 1
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(data=st.data(), digits=_CPR_NUMBERS, before=_DANISH_TEXT, after=_DANISH_TEXT)
def test_mask_cpr_masks_a_cpr_number_however_it_is_written(
    data: st.DataObject, digits: str, before: str, after: str
) -> None:
    # The whole number, digits and separators, becomes the mask, so no digit
    # is left in any form, and the text around it is kept as it was.
    number = data.draw(_written_cpr(digits))
    assert mask_cpr(f"{before}{number}{after}") == (f"{before}{CPR_MASK}{after}", True)


@settings(derandomize=True, database=None, max_examples=200, deadline=None)
@given(
    data=st.data(),
    digits=_PHONE_NUMBERS,
    country=st.sampled_from(["", "+45 ", "+45", "0045 ", "(+45) "]),
    before=_DANISH_TEXT,
    after=_DANISH_TEXT,
)
def test_mask_cpr_never_changes_a_phone_number(
    data: st.DataObject, digits: str, country: str, before: str, after: str
) -> None:
    text = f"{before}{country}{data.draw(_written_number(digits))}{after}"
    assert mask_cpr(text) == (text, False)


#: How Danish phone numbers are grouped when written.
_PHONE_GROUPINGS = st.sampled_from([(8,), (4, 4), (2, 2, 2, 2), (3, 2, 3)])
#: One separator throughout a number, as people write them.
_PHONE_SEPARATORS = st.sampled_from([*_SPACES, *_DASHES, "."])


@st.composite
def _written_phone(draw: st.DrawFn, digits: str) -> str:
    """A phone number in groups, with one separator throughout and any digit forms."""
    grouping = draw(_PHONE_GROUPINGS)
    separator = draw(_PHONE_SEPARATORS)
    if grouping == (4, 4) and separator != " ":
        assume(not (digits[:2] in ("19", "20") and digits[4:6] in ("19", "20")))  # a year range
    forms = [draw(_WRITTEN_DIGITS[int(digit)]) for digit in digits]
    groups, position = [], 0
    for size in grouping:
        groups.append("".join(forms[position : position + size]))
        position += size
    return separator.join(groups)


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(
    data=st.data(),
    digits=_PHONE_NUMBERS,
    country=st.sampled_from(["", "+45 ", "+45", "0045 "]),
    before=_DANISH_TEXT,
    after=_DANISH_TEXT,
)
def test_mask_contact_masks_a_phone_number_however_it_is_written(
    data: st.DataObject, digits: str, country: str, before: str, after: str
) -> None:
    number = country + data.draw(_written_phone(digits))
    assert mask_contact(f"{before}{number}{after}") == (f"{before}{PHONE_MASK}{after}", True)


@settings(derandomize=True, database=None, max_examples=100, deadline=None)
@given(address=st.emails(), before=_DANISH_TEXT.map(lambda t: t + " "), after=_DANISH_TEXT.map(lambda t: " " + t))
def test_mask_contact_masks_an_email_address(address: str, before: str, after: str) -> None:
    masked, found = mask_contact(f"{before}{address}{after}")
    assert found and address not in masked and EMAIL_MASK in masked


@pytest.mark.parametrize(
    "text",
    [
        "Mødet er 15.03.2026 kl. 10:30.",
        "Åbent kl. 10.00-12.00 og 13.00 - 15.00.",
        "Reglerne for 2026-2027.",
        "Det er 2026-03-15.",
        "Løntilskud på 12.500 kr. om måneden.",
        "Sagsnummer 20261234567",
        "Hvad er et fleksjob?",
    ],
)
def test_mask_contact_leaves_dates_times_years_and_amounts_alone(text: str) -> None:
    assert mask_contact(text) == (text, False)


def test_mask_personal_masks_cpr_phone_and_email_together() -> None:
    text = "Jeg er 150387-1001, ring +45 22 33 44 55 eller skriv til anne@example.dk"
    masked = mask_personal(text)
    assert masked == f"Jeg er {CPR_MASK}, ring {PHONE_MASK} eller skriv til {EMAIL_MASK}"


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
