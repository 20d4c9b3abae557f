"""Personal data rules: CPR numbers are masked, senders are hashed in logs,
and text kept for statistics has its phone numbers and e-mail addresses
masked too (`mask_personal`).

A CPR number is ten digits whose first six form a date (DDMMYY). People write
them in many ways: ``150387-1001``, ``15.03.87-1007``, ``15 03 87 1008``,
``1503 87 1013``, with a non-breaking space or an en dash, in fullwidth or
Arabic-Indic digits, or as JSON escapes (``\\u0031``) inside a button payload.
The masker first makes a copy of the text with exactly one character for each
original character: every digit becomes an ASCII digit, every space, dash, dot
or slash becomes one canonical separator, invisible characters and the tail of
each JSON escape become a filler, and anything else becomes ``x``. One regular
expression finds the CPR numbers in that copy, and because the offsets line up
the matched spans are replaced in the original text.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from calendar import monthrange
from collections.abc import Iterator
from functools import lru_cache

CPR_MASK = "XXXXXX-XXXX"
#: Digits of a Danish phone number.
PHONE_DIGITS = 8

#: A JSON string escape that can hide a digit or a separator: ``\uXXXX`` (a
#: surrogate pair counts as one), ``\/`` and the whitespace escapes.
_JSON_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\[/nrt]")
_INVISIBLE = "\u200b"  # stands in for the tail of an escape; normalised to the filler
_FILLER = "_"
_OTHER = "x"


def _digit(allowed: str = "0-9") -> str:
    return rf"{_FILLER}*[{allowed}]"


#: In the normalised copy: ten digits, each pair separated by up to three
#: separator characters, and no digit right before or after (a longer number).
#: A day starts with 0-3 and a month with 0-1; _starts_with_date checks the rest.
_GAP = rf"(?:{_FILLER}*[ ./-]){{0,3}}"
_CPR_CANDIDATE = re.compile(
    rf"(?<![0-9{_FILLER}])"
    rf"{_digit('0-3')}{_GAP}{_digit()}{_GAP}{_digit('01')}(?:{_GAP}{_digit()}){{7}}"
    rf"(?!{_FILLER}*[0-9])"
)
_NOT_A_DIGIT = re.compile(r"[^0-9]")
_DIGIT = re.compile(r"[0-9]")
#: Groups of digits joined by short separators, and what splits the groups.
_RUN = re.compile(rf"[0-9{_FILLER}]+(?:[ ./-]{{1,3}}[0-9{_FILLER}]+)*")
_GROUP_GAP = re.compile(r"[ ./-]+")


def _unescape(match: re.Match[str]) -> str:
    """The character a JSON escape stands for, padded to the escape's length."""
    escape = match.group()
    return _INVISIBLE * (len(escape) - 1) + str(json.loads(f'"{escape}"'))


@lru_cache(maxsize=4096)
def _canonical(char: str) -> str:
    """One character of the normalised copy: a digit, a separator, the filler or x."""
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    if char.isspace():
        return " "
    category = unicodedata.category(char)
    if category == "Pd" or char == "\u2212":  # any dash or hyphen, the minus sign
        return "-"
    if category == "Cf":  # zero-width space, soft hyphen, word joiner ...
        return _FILLER
    folded = unicodedata.normalize("NFKC", char)
    return folded if folded in {".", "/", "+"} else _OTHER


def _normalise(text: str) -> str:
    """A copy of text, as long as text, in the alphabet the CPR pattern reads."""
    return "".join(map(_canonical, _JSON_ESCAPE.sub(_unescape, text)))


def _is_date(day: int, month: int, two_digit_year: int) -> bool:
    """Whether DD MM YY is a date in 19YY or 20YY (20YY has every 29 February 19YY has, and 2000 too)."""
    return 1 <= month <= 12 and 1 <= day <= monthrange(2000 + two_digit_year, month)[1]


def _starts_with_date(candidate: str) -> bool:
    digits = _NOT_A_DIGIT.sub("", candidate)
    return _is_date(int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))


def _grouped_like_cpr(candidate: str) -> bool:
    """Separators inside the date part come with one after it: "15.03.87-1007"
    and "1503 87 1013" are CPR numbers, "15.03.2026 10:30" is a date and a time."""
    gaps = [bool(gap.strip(_FILLER)) for gap in _DIGIT.split(candidate)[1:-1]]
    return not any(gaps[:5]) or gaps[5]


def _in_a_run_of_pairs(normalised: str, start: int, end: int) -> bool:
    """Part of phone numbers written in pairs side by side ("70 20 12 01 /
    12 34 56 78"), not a CPR number: a run of more than ten digits in pairs,
    unless the digits before and after the candidate in the run could each be
    whole phone numbers of eight digits ("22 33 44 55 15 03 87 10 01" is a
    phone number and a CPR number)."""
    for run in _RUN.finditer(normalised, max(0, start - 40), end + 40):
        if run.start() <= start and end <= run.end():
            groups = [group.strip(_FILLER) for group in _GROUP_GAP.split(run.group())]
            if sum(map(len, groups)) <= 10 or any(len(group) != 2 for group in groups):
                return False
            before = len(_DIGIT.findall(normalised, run.start(), start))
            after = len(_DIGIT.findall(normalised, end, run.end()))
            return before % PHONE_DIGITS != 0 or after % PHONE_DIGITS != 0
    return False


def _is_cpr(normalised: str, match: re.Match[str]) -> bool:
    candidate = match.group()
    return (
        _starts_with_date(candidate)
        and _grouped_like_cpr(candidate)
        and not _in_a_run_of_pairs(normalised, *match.span())
    )


def _cpr_spans(normalised: str) -> Iterator[tuple[int, int]]:
    """Where the CPR numbers are. A candidate that is none does not hide one that starts inside it."""
    position = 0
    while match := _CPR_CANDIDATE.search(normalised, position):
        if _is_cpr(normalised, match):
            yield match.span()
            position = match.end()
        else:
            position = match.start() + 1


def mask_cpr(text: str) -> tuple[str, bool]:
    """Replace every CPR number with CPR_MASK.

    Returns the masked text and whether anything was masked. A CPR number is
    ten digits, not part of a longer number, whose first six form a valid date
    (DDMMYY); the digits may be any Unicode digits and may be separated by
    spaces, dashes, dots or slashes, with a separator after the date whenever
    the date itself has one. The whole number, separators included, is
    replaced; the text around it is kept as it is.
    """
    spans = list(_cpr_spans(_normalise(text)))
    for start, end in reversed(spans):
        text = text[:start] + CPR_MASK + text[end:]
    return text, bool(spans)


#: In the normalised copy: eight digits with up to three separator characters
#: between any two, optionally after +45 or 0045 (a Danish phone number, if
#: _grouped_like_a_phone agrees), or any 7-15 digits after a plus sign.
_PHONE_CANDIDATE = re.compile(
    rf"\+(?:{_GAP}{_digit()}){{7,15}}(?!{_FILLER}*[0-9])"
    rf"|(?<![0-9{_FILLER}])(?:(?:\+|0{_FILLER}*0){_FILLER}*4{_FILLER}*5{_GAP})?"
    rf"{_digit()}(?:{_GAP}{_digit()}){{7}}(?!{_FILLER}*[0-9])"
)
#: How Danish phone numbers are grouped: 12345678, 1234 5678, 12 34 56 78, 123 45 678.
_PHONE_GROUPS = frozenset({(8,), (4, 4), (2, 2, 2, 2), (3, 2, 3)})
_YEAR = re.compile(r"(19|20)\d\d")
_PREFIX = re.compile(rf"^(?:\+|0{_FILLER}*0){_FILLER}*4{_FILLER}*5")
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"«»]+@[\w-]+(?:\.[\w-]+)+")
PHONE_MASK = "[telefonnummer]"
EMAIL_MASK = "[e-mail]"


def _grouped_like_a_phone(candidate: str) -> bool:
    """Eight digits grouped as a phone number is written, and not a year
    range ("2026-2027") or a time span ("10.00-12.00")."""
    if candidate.startswith("+") and not _PREFIX.match(candidate):
        return True  # a foreign number: any grouping
    body = _PREFIX.sub("", candidate).strip(_FILLER + " .-/")
    groups = [group.replace(_FILLER, "") for group in _GROUP_GAP.split(body)]
    gaps = [gap.strip(_FILLER + " ") for gap in _GROUP_GAP.findall(body)]
    if tuple(map(len, groups)) not in _PHONE_GROUPS:
        return False
    year_range = len(groups) == 2 and all(_YEAR.fullmatch(g) for g in groups) and gaps != [""]
    time_span = len(groups) == 4 and gaps == [".", "-", "."]
    return not (year_range or time_span)


def mask_contact(text: str) -> tuple[str, bool]:
    """Replace e-mail addresses with EMAIL_MASK and phone numbers with PHONE_MASK.

    Returns the masked text and whether anything was masked. Phone numbers
    are found the way CPR numbers are (in any Unicode digits, with any
    spaces or dashes), so what `mask_cpr` handles, this handles too.
    """
    text, emails = _EMAIL.subn(EMAIL_MASK, text)
    normalised = _normalise(text)
    spans = [m.span() for m in _PHONE_CANDIDATE.finditer(normalised) if _grouped_like_a_phone(m.group())]
    for start, end in reversed(spans):
        text = text[:start] + PHONE_MASK + text[end:]
    return text, bool(emails or spans)


def mask_personal(text: str) -> str:
    """CPR numbers, phone numbers and e-mail addresses masked: the form in
    which a user's text is kept for statistics (unanswered questions,
    feedback comments)."""
    return mask_contact(mask_cpr(text)[0])[0]


def hash_sender(sender: str, salt: str) -> str:
    """A stable, non-reversible id for a sender, for logs and statistics."""
    return hashlib.sha256(f"{salt}:{sender}".encode()).hexdigest()[:16]
