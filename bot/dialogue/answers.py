"""Turn knowledge-base hits into the bot's answer, clarify and no-answer turns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.dialogue.messages import BotMessage, Button, Kind, intent_payload
from bot.knowledge.engine import Hit
from bot.knowledge.reform import Stage, labels_by_stage
from bot.knowledge.schema import Article
from bot.knowledge.store import KnowledgeBase
from bot.taxonomy import ALL_MUNICIPALITIES, Municipality

CHECK_THE_RULES = "Tjek de gældende regler på borger.dk eller star.dk, eller spørg en medarbejder."
MAY_HAVE_CHANGED = "Regler og tilbud kan have ændret sig siden."
#: A source older than this many years gets a line saying so.
MAX_POLICY_AGE = 1
HUMAN_BUTTON = Button("Tal med en medarbejder", intent_payload("request_human"))
FEEDBACK_PROMPT = BotMessage(
    text="Var svaret en hjælp?",
    buttons=(
        Button("Ja", intent_payload("give_feedback", helpful="ja")),
        Button("Nej", intent_payload("give_feedback", helpful="nej")),
        HUMAN_BUTTON,
    ),
)


def sources_of(article: Article, kb: KnowledgeBase) -> list[dict[str, str | int]]:
    """The article's citations as the chat API's `sources` list, one per section."""
    seen: set[tuple[str, str]] = set()
    sources: list[dict[str, str | int]] = []
    for citation in article.citations:
        key = (citation.source, citation.section)
        if key in seen:
            continue
        seen.add(key)
        source = kb.sources[citation.source]
        sources.append(
            {
                "document": source.id,
                "municipality": source.municipality,
                "title": source.title,
                "section": citation.section,
                "year": source.year,
            }
        )
    return sources


def citation_line(sources: list[dict[str, str | int]], kb: KnowledgeBase) -> str:
    parts = [
        f"{s['title']}, afsnit «{kb.sources[str(s['document'])].section_label(str(s['section']))}» ({s['year']})"
        for s in sources
    ]
    return "Kilde: " + "; ".join(parts) + "."


def listed(words: list[str]) -> str:
    """'a', 'a og b', 'a, b og c'."""
    return " og ".join(filter(None, [", ".join(words[:-1]), words[-1]]))


def reform_lines(article: Article) -> list[str]:
    """What the reform changed in 2026 and what is announced for 2027, named from the answer's words."""
    if not article.reform_note:
        return []
    labels = labels_by_stage(article.answer)
    in_force, announced = labels[Stage.IN_FORCE], labels[Stage.ANNOUNCED]
    lines: list[str] = []
    if in_force:
        lines.append(f"Reglerne for {listed(in_force)} er ændret i {Stage.IN_FORCE.value}.")
    elif not announced:
        lines.append(f"Reglerne er ændret i {Stage.IN_FORCE.value}.")
    if announced:
        lines.append(f"Der er varslet nye regler for {listed(announced)} fra {Stage.ANNOUNCED.value}.")
    return lines


def age_line(article: Article, kb: KnowledgeBase, today: date) -> str | None:
    """Say how old the oldest cited source is, when it is old (a policy before national facts of its year)."""
    cited = (kb.sources[c.source] for c in article.citations)
    oldest = min(cited, key=lambda source: (source.year, source.municipality == ALL_MUNICIPALITIES))
    if today.year - oldest.year <= MAX_POLICY_AGE:
        return None
    what = "Oplysningerne" if oldest.municipality == ALL_MUNICIPALITIES else "Politikken"
    return f"{what} er fra {oldest.year}."


def warning_line(article: Article, kb: KnowledgeBase, today: date) -> str | None:
    """The source's age and what the reform changed, or nothing."""
    age = age_line(article, kb, today)
    changes = reform_lines(article)
    if changes:
        return " ".join([*([age] if age else []), *changes, CHECK_THE_RULES])
    return f"{age} {MAY_HAVE_CHANGED}" if age else None


def scope_line(article: Article, kb: KnowledgeBase, municipality: Municipality) -> str | None:
    """Say when a common article answers, and when the local policy is silent."""
    if not article.is_common:
        return None
    if kb.policy_is_silent(municipality, article.topic):
        return (
            f"{municipality.label} Kommunes beskæftigelsespolitik siger ikke noget om "
            f"{article.topic.label.lower()}. Svaret bygger på de regler, der gælder i hele landet."
        )
    return "Svaret bygger på de regler, der gælder i hele landet."


@dataclass(frozen=True)
class Extras:
    """What an answer offers beside its article."""

    #: Runners-up worth a look ("Se også").
    see_also: tuple[Article, ...] = ()
    #: The answer to a second question in the same message.
    other: Article | None = None
    #: A line on how the question was read ("Jeg går ud fra, at du spørger
    #: videre om fleksjob."), shown with the scope.
    note: str | None = None


#: At most this many buttons beside an answer.
MAX_EXTRA_BUTTONS = 3


def _article_button(prefix: str, article: Article) -> Button:
    return Button(f"{prefix}: {article.title}", intent_payload("ask_question", article_id=article.id))


def extra_buttons(extras: Extras) -> tuple[Button, ...]:
    """A button for the message's other question first, then "Se også"."""
    other = [_article_button("Dit andet spørgsmål", extras.other)] if extras.other else []
    see_also = [_article_button("Se også", article) for article in extras.see_also]
    return tuple([*other, *see_also][:MAX_EXTRA_BUTTONS])


def answer_messages(
    article: Article,
    kb: KnowledgeBase,
    municipality: Municipality,
    today: date | None = None,
    extras: Extras | None = None,
) -> list[BotMessage]:
    """The answer turn: the cited answer (with buttons for the other question
    and related articles), then 'Var svaret en hjælp?'."""
    extras = extras or Extras()
    sources = sources_of(article, kb)
    scope = [line for line in (extras.note, scope_line(article, kb, municipality)) if line]
    parts = {
        "body": article.answer,
        "scope": " ".join(scope) or None,
        "hint": article.handoff_hint,
        "citation": citation_line(sources, kb),
        "warning": warning_line(article, kb, today or date.today()),
    }
    text = "\n".join(part for part in parts.values() if part)
    custom = {
        "kind": Kind.ANSWER.value,
        "topic": article.topic.value,
        "article_id": article.id,
        "title": article.title,
        "municipality": municipality.value,
        "reform_note": article.reform_note,
        "sources": sources,
        "parts": {key: value for key, value in parts.items() if value},
        "see_also": [a.id for a in extras.see_also],
        **({"other_question": extras.other.id} if extras.other else {}),
    }
    return [BotMessage(text=text, buttons=extra_buttons(extras), custom=custom), FEEDBACK_PROMPT]


def clarify_message(hits: tuple[Hit, ...]) -> BotMessage:
    """Offer the top three articles as buttons."""
    choices = tuple(
        Button(hit.article.title, intent_payload("ask_question", article_id=hit.article.id)) for hit in hits[:3]
    )
    return BotMessage(
        text="Jeg er ikke helt sikker på, hvad du spørger om. Hvilket af disse emner passer bedst?",
        buttons=(*choices, Button("Ingen af dem", intent_payload("deny"))),
        custom={"kind": Kind.CLARIFY.value, "choices": [h.article.id for h in hits[:3]]},
    )


def no_answer_message() -> BotMessage:
    """Say honestly that the knowledge base has no answer."""
    return BotMessage(
        text=(
            "Det kan jeg desværre ikke finde et sikkert svar på. "
            "Prøv at skrive spørgsmålet med andre ord, fx «Hvad er et fleksjob?».\n"
            "Du kan også tale med en medarbejder."
        ),
        buttons=(HUMAN_BUTTON,),
        custom={"kind": Kind.FALLBACK.value, "reason": "no_answer"},
    )


def out_of_scope_message() -> BotMessage:
    """Refuse politely: say what the assistant helps with and where else to look."""
    return BotMessage(
        text=(
            "Det kan jeg desværre ikke hjælpe med. Jeg kan kun svare på spørgsmål om job, fleksjob, "
            "løntilskud, praktik, hjælp ved handicap og jobcenterets hjælp til virksomheder.\n"
            "Andre spørgsmål til kommunen kan du finde svar på på kommunens hjemmeside eller på borger.dk."
        ),
        custom={"kind": Kind.OUT_OF_SCOPE.value},
    )


def municipality_question(other: str | None = None) -> BotMessage:
    """Ask which municipality the user belongs to, with one button each.

    `other` is another municipality the user named: say first that the
    assistant does not cover it, and where to ask instead.
    """
    text = "Hvilken kommune bor du i, eller ligger din virksomhed i? Så kan jeg give dig det rigtige svar."
    if other:
        *first, last = (m.label for m in Municipality)
        text = (
            f"Jeg kan kun svare om jobcentrene i {', '.join(first)} og {last} Kommune. "
            f"Hører du til {other}, skal du kontakte jobcentret dér. "
            "Hører du til en af de fire kommuner, kan du vælge den her."
        )
    return BotMessage(
        text=text,
        buttons=tuple(
            Button(m.label, intent_payload("inform_municipality", municipality=m.value)) for m in Municipality
        ),
        custom={"kind": Kind.CLARIFY.value, "question": "municipality"},
    )
