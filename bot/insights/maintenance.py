"""The maintenance switch: close the chat for one municipality, or for all.

While a switch is on, the front door answers every turn for that
municipality at once, without Rasa, with the switch's message and the
municipality's contact route (custom.kind "closed"). A live chat a
caseworker has already claimed goes on. Every change is in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Exists, delete, exists, select
from sqlalchemy.orm import Session

from bot.insights.records import last_municipality
from bot.storage.db import rows_changed
from bot.storage.models import AuditEntry, Caseworker, MaintenanceSwitch
from bot.taxonomy import ALL_MUNICIPALITIES, Municipality

DEFAULT_MESSAGE = "Chatten er lukket lige nu, fordi vi arbejder på den. Prøv igen senere, eller kontakt jobcenteret."
MAX_MESSAGE_LENGTH = 500


@dataclass(frozen=True)
class Closure:
    """A switch that is on: for one municipality, or for all (None)."""

    municipality: Municipality | None
    message: str
    since: datetime


def _closure(switch: MaintenanceSwitch) -> Closure:
    scope = None if switch.scope == ALL_MUNICIPALITIES else Municipality(switch.scope)
    return Closure(scope, switch.message, switch.since)


def any_switch_on() -> Exists:
    """Whether any switch is on, as a column (the front door reads it with
    each turn, and the switches themselves only when one is)."""
    return exists().select_from(MaintenanceSwitch)


def closures(session: Session) -> list[Closure]:
    """Every switch that is on."""
    return [_closure(switch) for switch in session.scalars(select(MaintenanceSwitch))]


def closed_for(session: Session, municipality: Municipality | None, sender_hash: str) -> Closure | None:
    """The switch that closes this turn's chat, if any. A turn that names no
    municipality belongs to the one its conversation was last about."""
    switches = {switch.scope: switch for switch in session.scalars(select(MaintenanceSwitch))}
    if not switches:
        return None
    if ALL_MUNICIPALITIES in switches:
        return _closure(switches[ALL_MUNICIPALITIES])
    municipality = municipality or last_municipality(session, sender_hash)
    switch = switches.get(municipality.value) if municipality else None
    return _closure(switch) if switch else None


def switch_on(
    session: Session, municipality: Municipality | None, message: str | None, by: Caseworker | None
) -> Closure:
    """Close the chat (None: for all municipalities) with a message, or the default one."""
    scope = municipality.value if municipality else ALL_MUNICIPALITIES
    text = (message or "").strip()[:MAX_MESSAGE_LENGTH] or DEFAULT_MESSAGE
    switch = session.get(MaintenanceSwitch, scope) or MaintenanceSwitch(scope=scope)
    switch.message = text
    session.add(switch)
    session.add(AuditEntry(caseworker_id=by.id if by else None, action="maintenance_on", detail=scope))
    session.flush()
    return _closure(switch)


def switch_off(session: Session, municipality: Municipality | None, by: Caseworker | None) -> bool:
    """Open the chat again; returns whether it was closed."""
    scope = municipality.value if municipality else ALL_MUNICIPALITIES
    deleted = rows_changed(session.execute(delete(MaintenanceSwitch).where(MaintenanceSwitch.scope == scope)))
    session.add(AuditEntry(caseworker_id=by.id if by else None, action="maintenance_off", detail=scope))
    return bool(deleted)
