"""Slot names: bot/dialogue/slots.py is the one definition, and domain.yml agrees."""

from __future__ import annotations

import yaml

from bot.dialogue import slots
from bot.settings import ROOT

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def our_slot_names() -> set[str]:
    return {value for name, value in vars(slots).items() if name.isupper() and isinstance(value, str)}


def test_every_slot_in_the_domain_has_its_name_in_the_code_and_back():
    assert set(DOMAIN["slots"]) == our_slot_names() - set(slots.RASA_SLOTS)


def test_the_handoff_form_asks_for_the_municipality_and_the_forms_own_slots():
    assert DOMAIN["forms"]["handoff_form"]["required_slots"] == [slots.MUNICIPALITY, *slots.HANDOFF_FORM]
