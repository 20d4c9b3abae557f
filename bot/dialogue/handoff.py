"""The handoff conversation: offer, consent form, validation, confirmation.

The form asks how the citizen wants help (chat now, or a callback), then for
a callback their name (optional) and a phone number or e-mail, and finally a
short description. Every step can be cancelled. It never asks for a CPR
number (the front door masks any that is typed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.dialogue import slots
from bot.dialogue.language import is_english
from bot.dialogue.messages import BotMessage, Button, Kind, intent_payload
from bot.handoff.service import Notice
from bot.opening_hours import describe
from bot.safety import EMERGENCY_LINES
from bot.taxonomy import MUNICIPALITY_CHOICES, Audience, Channel, HandoffReason, Municipality, Team, find_municipality

#: Value of contact_name when the citizen skips it.
SKIPPED = "-"

CHAT_NOW = "Chat med en medarbejder nu"
CALL_ME = "Ring eller skriv til mig"
CANCEL_BUTTON = Button("Fortryd", intent_payload("stop"))
#: The intent of the "Prøv igen" button after a case could not be stored.
RETRY_INTENT = "retry_handoff"
MAX_DESCRIPTION = 1000
#: More words than this is a sentence, not a name.
MAX_NAME_WORDS = 5

_PHONE = re.compile(r"^(?:\+45|0045)?(\d{8})$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_CHAT_WORDS = re.compile(r"\b(chat|chatte|skrive her|nu|med det samme)\b", re.IGNORECASE)
_CALLBACK_WORDS = re.compile(r"\b(ring|ringe|opkald|telefon|mail|e-mail|skriv til mig|kontakt mig)\w*", re.IGNORECASE)
_SKIP_WORDS = re.compile(
    r"^(spring( det| navnet)? over|skip|nej|nej tak|-|(det )?vil( jeg)? ikke oplyse.*|jeg springer navnet over)\W*$",
    re.IGNORECASE,
)


def team_for(audience: Audience | None, text: str) -> Team:
    """Employers (and anyone asking for a virksomhedskonsulent) go to team virksomhed."""
    if audience is Audience.VIRKSOMHED or "virksomhedskonsulent" in text.lower():
        return Team.VIRKSOMHED
    return Team.BORGER


def _form_message(text: str, buttons: tuple[Button, ...] = ()) -> BotMessage:
    return BotMessage(text=text, buttons=(*buttons, CANCEL_BUTTON), custom={"kind": Kind.FORM.value})


#: Before the form's Danish questions, for someone who asked in English.
ENGLISH_FORM_NOTE = (
    "I can only write in Danish, so the next few questions are in Danish: how you want to be contacted, "
    "your name, and your phone number or e-mail. Tap the buttons or write short answers in English. "
    "The caseworker can talk with you in English."
)


def intro(team: Team) -> BotMessage:
    who = "en virksomhedskonsulent" if team is Team.VIRKSOMHED else "en medarbejder"
    return BotMessage(
        text=f"Jeg kan sætte dig i kontakt med {who}. Det tager kun et par trin, og du kan fortryde når som helst.",
        custom={"kind": Kind.HANDOFF.value, "team": team.value},
    )


def intro_for(team: Team, text: str) -> list[BotMessage]:
    """The form's introduction; in English first when the request was written in English."""
    if not is_english(text):
        return [intro(team)]
    return [BotMessage(text=ENGLISH_FORM_NOTE, custom={"language": "en"}), intro(team)]


def ask_channel(hours: str, open_now: bool) -> BotMessage:
    if open_now:
        return _form_message(
            "Vil du chatte med en medarbejder nu, eller vil du have, at vi ringer eller skriver til dig?",
            (Button(CHAT_NOW, CHAT_NOW), Button(CALL_ME, CALL_ME)),
        )
    return _form_message(
        f"Medarbejderne er ikke online i chatten lige nu. De er online {describe(hours)}.\n"
        "Vil du have, at vi ringer eller skriver til dig?",
        (Button(CALL_ME, CALL_ME),),
    )


def ask_name() -> BotMessage:
    return _form_message("Hvad hedder du? Du må gerne springe over.", (Button("Spring over", "spring over"),))


def ask_contact() -> BotMessage:
    return _form_message("Hvilket telefonnummer eller hvilken e-mailadresse kan vi kontakte dig på?")


def ask_description() -> BotMessage:
    return _form_message("Skriv kort, hvad du gerne vil have hjælp til. Skriv ikke dit CPR-nummer.")


def ask_municipality() -> BotMessage:
    return _form_message(
        "Hvilken kommune bor du i, eller ligger din virksomhed i?",
        tuple(Button(m.label, intent_payload("inform_municipality", municipality=m.value)) for m in Municipality),
    )


@dataclass(frozen=True)
class Checked:
    """A validated form answer: the value to keep, or a message saying why not."""

    value: str | None
    problem: str | None = None


def check_channel(text: str, open_now: bool, hours: str) -> Checked:
    wants_chat = text == CHAT_NOW or bool(_CHAT_WORDS.search(text))
    wants_callback = text == CALL_ME or bool(_CALLBACK_WORDS.search(text))
    if wants_callback:
        return Checked(Channel.CALLBACK.value)
    if wants_chat and open_now:
        return Checked(Channel.CHAT.value)
    if wants_chat:
        return Checked(None, f"Chatten er lukket lige nu. Den er åben {describe(hours)}.")
    return Checked(None, "Vælg en af knapperne, eller skriv «chat» eller «ring».")


def check_municipality(value: str) -> Checked:
    found = find_municipality(value)
    if found:
        return Checked(found.value)
    return Checked(None, f"Den kommune kender jeg ikke. Vælg {MUNICIPALITY_CHOICES}.")


def check_name(text: str) -> Checked:
    name = " ".join(text.split())
    if _SKIP_WORDS.match(name):
        return Checked(SKIPPED)
    if len(name) > 100 or any(ch.isdigit() for ch in name):
        return Checked(None, "Skriv dit navn uden tal, eller vælg «Spring over».")
    if "?" in name or len(name.split()) > MAX_NAME_WORDS:
        return Checked(None, "Skriv kun dit navn her, eller vælg «Spring over». Dit spørgsmål kan du skrive til sidst.")
    return Checked(name)


def check_not_repeated(text: str, previous: str | None) -> Checked | None:
    """A message that repeats the one before it (a second tap on a button,
    or a message sent again after an error) answered the previous question,
    not this one. None when it is new."""
    if previous is None or " ".join(text.split()).casefold() != " ".join(previous.split()).casefold():
        return None
    return Checked(None, "Det skrev du også lige før.")


def check_contact(text: str) -> Checked:
    """A Danish phone number (8 digits; spaces and +45 allowed) or an e-mail."""
    compact = re.sub(r"[\s-]", "", text)
    phone = _PHONE.match(compact)
    if phone:
        digits = phone.group(1)
        return Checked(" ".join(digits[i : i + 2] for i in range(0, 8, 2)))
    address = text.strip()
    if _EMAIL.match(address):
        return Checked(address.lower())
    return Checked(
        None,
        "Det ligner ikke et telefonnummer eller en e-mailadresse. "
        "Skriv et dansk telefonnummer med 8 cifre (fx 12 34 56 78) eller en e-mail (fx navn@eksempel.dk).",
    )


def check_description(text: str) -> Checked:
    description = text.strip()
    if len(description) < 3:
        return Checked(None, "Skriv et par ord om, hvad du gerne vil have hjælp til.")
    if len(description) > MAX_DESCRIPTION:
        return Checked(None, f"Beskrivelsen er for lang. Skriv højst {MAX_DESCRIPTION} tegn.")
    return Checked(description)


def required_slots(channel: str | None, municipality_known: bool) -> list[str]:
    """What the form still needs, given the channel chosen so far."""
    needed = [] if municipality_known else [slots.MUNICIPALITY]
    needed.append(slots.HANDOFF_CHANNEL)
    if channel == Channel.CALLBACK.value:
        needed += [slots.CONTACT_NAME, slots.CONTACT_INFO]
    return [*needed, slots.HANDOFF_DESCRIPTION]


def queue_place(position: int) -> str:
    return "Du er den næste i køen." if position <= 1 else f"Der er {position - 1} før dig i køen."


def already_in_queue(position: int) -> str:
    """What a citizen who waits for a caseworker hears instead of a new offer."""
    return f"Du er allerede i kø til en medarbejder. {queue_place(position)} Medarbejderen skriver til dig her."


def submitted(channel: Channel, contact: str | None, position: int, urgent: bool = False) -> BotMessage:
    """Confirm the handoff; an urgent one repeats where to get help at once."""
    if channel is Channel.CHAT:
        ahead = queue_place(position)
        text = (
            f"Tak. Du er nu i kø til en medarbejder. {ahead}\n"
            "Bliv her i chatten. Medarbejderen skriver til dig her. Indtil da kan du stadig spørge mig."
        )
    else:
        text = (
            f"Tak. En medarbejder kontakter dig på {contact} i åbningstiden.\nDu kan stadig stille mig spørgsmål her."
        )
    if urgent:
        text += "\n" + EMERGENCY_LINES
    return BotMessage(text=text, custom={"kind": Kind.FORM.value, "handoff": channel.value, "queue": position})


def cancelled() -> BotMessage:
    return BotMessage(
        text="Det er i orden. Jeg har ikke sendt noget videre. Hvad kan jeg ellers hjælpe med?",
        custom={"kind": Kind.FORM.value, "cancelled": True},
    )


def not_stored(contact_route: str) -> BotMessage:
    """The case could not be stored; the answers are kept for a new try."""
    return BotMessage(
        text="Beklager. Jeg kunne ikke sende din henvendelse lige nu, fordi der er travlt i vores system. "
        "Jeg har gemt det, du har skrevet. Tryk «Prøv igen» om et øjeblik.\n"
        f"Du kan også kontakte kommunen direkte: {contact_route}",
        buttons=(Button("Prøv igen", intent_payload(RETRY_INTENT)),),
        custom={"kind": Kind.FORM.value, "stored": False},
    )


def nothing_to_send() -> BotMessage:
    """The answer to "Prøv igen" when no answers are waiting (already sent, or cancelled)."""
    return BotMessage(
        text="Der er ikke nogen henvendelse, der venter på at blive sendt. Vil du tale med en medarbejder?",
        buttons=(Button("Tal med en medarbejder", intent_payload("request_human")),),
        custom={"kind": Kind.FORM.value},
    )


# -- what caseworkers' actions tell the citizen and the case thread ---------------

#: How a caseworker is named to citizens, whatever their role in the app.
CASEWORKER_ROLE = "medarbejder"


def caseworker_badge(first_name: str) -> dict[str, str]:
    """How a caseworker is shown to citizens: first name and role."""
    return {"first_name": first_name, "role": CASEWORKER_ROLE}


def opened_line(reason: HandoffReason) -> str:
    """The case thread's system line when the case opens."""
    return f"Sagen er oprettet ({reason.value})."


def claimed(display_name: str, first_name: str) -> Notice:
    message = BotMessage(
        text=f"Du chatter nu med {first_name}, {CASEWORKER_ROLE} i kommunen. Skriv bare her.",
        custom={"kind": Kind.HANDOFF.value, "status": "claimed", "caseworker": caseworker_badge(first_name)},
    )
    return Notice(f"{display_name} tog sagen.", message.as_rest())


def closed(display_name: str) -> Notice:
    message = BotMessage(
        text="Medarbejderen har afsluttet samtalen. Du skriver nu med assistenten igen. "
        "Du er velkommen til at stille flere spørgsmål.",
        custom={"kind": Kind.HANDOFF.value, "status": "closed"},
    )
    return Notice(f"{display_name} lukkede sagen.", message.as_rest())


def caseworker_says(text: str, first_name: str) -> dict[str, Any]:
    """A caseworker's reply in the chat API's message shape."""
    custom = {"kind": Kind.HANDOFF.value, "author": "caseworker", "caseworker": caseworker_badge(first_name)}
    return BotMessage(text=text, custom=custom).as_rest()
