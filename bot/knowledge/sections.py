"""Find the headings of a plain-text policy document.

The policies are text extractions: headings survive as short lines of their
own (sometimes with Markdown marks), page layout does not. A line is a heading
when it stands alone between blank lines, is short, starts with a capital
letter and does not read like a sentence, a list item or a table-of-contents
entry. Headings that repeat within a document ("Strategi", "Konkrete
aktiviteter") are sub-headings and do not start a section of their own, so
every section heading is unique and can be cited by name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

MAX_HEADING_LENGTH = 110
_MARKUP = re.compile(r"^[#*\s]+|[*\s]+$")
_LIST_ITEM = re.compile(r"^([-•❖]|\d+\.\s+\S+\s+\S+)")
_TOC_ENTRY = re.compile(r"\.{4,}|\t\d+$")
_LABEL_VALUE = re.compile(r"^\S+: ")
_CONTACT_LINE = re.compile(r"(Telefon|Tlf\.?|Mail|E-mail):?\s", re.IGNORECASE)
_SENTENCE_END = (".", ",", ":", ";")
CONTACT_HEADING = "Kontaktoplysninger"


@dataclass(frozen=True)
class Section:
    heading: str
    start: int
    end: int


def clean_heading(line: str) -> str:
    """Strip Markdown marks (#, **, *) and surrounding space from a line."""
    return _MARKUP.sub("", line).strip()


def _is_heading(line: str, before: str, after: str, following: str) -> bool:
    """Decide whether a line is a heading from itself and its neighbours.

    `following` is the next non-blank line: a heading is never continued by a
    line that starts in lower case (that is a sentence broken by the
    extraction).
    """
    text = clean_heading(line)
    stands_alone = not before.strip() and not after.strip()
    if not text or not stands_alone or len(text) > MAX_HEADING_LENGTH:
        return False
    if clean_heading(following)[:1].islower():
        return False
    if line.lstrip().startswith("#"):
        return True
    return (
        text[0].isupper()
        and not text.endswith(_SENTENCE_END)
        and not _TOC_ENTRY.search(line)
        and not _LIST_ITEM.match(text)
        and not _LABEL_VALUE.match(text)
    )


def _is_contact_block(lines: list[str], i: int) -> bool:
    """A block of three or more short lines with a phone or mail line."""
    if i > 0 and lines[i - 1].strip():
        return False
    block = []
    for line in lines[i:]:
        if not line.strip():
            break
        block.append(line)
    return (
        len(block) >= 3 and all(len(line) <= 60 for line in block) and any(_CONTACT_LINE.search(line) for line in block)
    )


def _candidate_headings(text: str) -> list[tuple[str, int]]:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    found: list[tuple[str, int]] = []
    for i, line in enumerate(lines):
        before = lines[i - 1] if i > 0 else ""
        after = lines[i + 1] if i + 1 < len(lines) else ""
        following = next((x for x in lines[i + 1 :] if x.strip()), "")
        if _is_contact_block(lines, i):
            if CONTACT_HEADING not in (heading for heading, _ in found):
                found.append((CONTACT_HEADING, offsets[i]))
        elif _is_heading(line, before, after, following):
            found.append((clean_heading(line).rstrip("."), offsets[i]))
    return found


def parse_sections(text: str) -> list[Section]:
    """Split a document into sections keyed by unique heading.

    Text before the first heading, if any, is the section "Forside", so
    every character is in exactly one section.
    """
    candidates = _candidate_headings(text)
    counts = Counter(heading for heading, _ in candidates)
    heads = [(h, pos) for h, pos in candidates if counts[h] == 1]
    if not heads:
        heads = [("Hele dokumentet", 0)]
    elif text[: heads[0][1]].strip():
        heads.insert(0, ("Forside", 0))
    else:
        heads[0] = (heads[0][0], 0)
    sections = []
    for (heading, start), (_, end) in zip(heads, [*heads[1:], ("", len(text))], strict=True):
        sections.append(Section(heading=heading, start=start, end=end))
    return sections


def section_at(sections: list[Section], position: int) -> Section:
    """Return the section that contains a character position."""
    for section in sections:
        if section.start <= position < section.end:
            return section
    raise ValueError(f"position {position} is outside the document")
