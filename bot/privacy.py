"""Personal data rules: CPR numbers are masked, senders are hashed in logs."""

from __future__ import annotations

import hashlib
import re
from datetime import date

#: DDMMYY-XXXX, DDMMYY XXXX or ten digits in a row, not part of a longer number.
_CPR_CANDIDATE = re.compile(r"(?<![\d-])(\d{2})(\d{2})(\d{2})[- ]?(\d{4})(?![\d-])")
CPR_MASK = "XXXXXX-XXXX"


def _is_date(day: int, month: int, two_digit_year: int) -> bool:
    for century in (1900, 2000):
        try:
            date(century + two_digit_year, month, day)
        except ValueError:
            continue
        return True
    return False


def _mask_match(match: re.Match[str]) -> str:
    day, month, year = (int(part) for part in match.group(1, 2, 3))
    return CPR_MASK if _is_date(day, month, year) else match.group(0)


def mask_cpr(text: str) -> tuple[str, bool]:
    """Replace every CPR-like number with a mask.

    Returns the masked text and whether anything was masked. A CPR-like number
    is six digits forming a valid date (DDMMYY) followed by four digits,
    optionally after a hyphen or a space.
    """
    masked = _CPR_CANDIDATE.sub(_mask_match, text)
    return masked, masked != text


def hash_sender(sender: str, salt: str) -> str:
    """A stable, non-reversible id for a sender, for logs and statistics."""
    return hashlib.sha256(f"{salt}:{sender}".encode()).hexdigest()[:16]
