"""Administration commands.

    python -m bot.admin create-caseworker --municipality gladsaxe --team borger --username anne --name "Anne Hansen"
    python -m bot.admin add-canned-reply --municipality gladsaxe --team borger --title "Hilsen" --text "Hej, ..."
    python -m bot.admin purge [--older-than 30d]
    python -m bot.admin erase --sender <conversation id>

Passwords are asked for at a prompt (twice), never taken from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Callable
from datetime import timedelta

from bot.caseworker import throttle
from bot.caseworker.auth import MIN_PASSWORD_LENGTH, create_caseworker, delete_expired_sessions
from bot.handoff import service
from bot.settings import get_settings
from bot.storage.db import session_scope
from bot.storage.migrate import migrate
from bot.storage.models import CannedReply, Role, utcnow
from bot.storage.tracker import delete_tracker, inactive_senders
from bot.taxonomy import Municipality, Team

_AGE = re.compile(r"^(\d+)d$")


def parse_age(value: str) -> timedelta:
    """ "30d" -> 30 days."""
    match = _AGE.match(value)
    if not match:
        raise argparse.ArgumentTypeError("write the age in days, for example 30d")
    return timedelta(days=int(match.group(1)))


def _ask_password() -> str:
    while True:
        password = getpass.getpass("Adgangskode: ")
        if len(password) < MIN_PASSWORD_LENGTH:
            print(f"Adgangskoden skal have mindst {MIN_PASSWORD_LENGTH} tegn.", file=sys.stderr)
        elif password != getpass.getpass("Gentag adgangskoden: "):
            print("De to adgangskoder er ikke ens.", file=sys.stderr)
        else:
            return password


def cmd_create_caseworker(args: argparse.Namespace) -> int:
    try:
        password = _ask_password()
    except (EOFError, KeyboardInterrupt):
        print("\nAfbrudt: ingen medarbejder oprettet.", file=sys.stderr)
        return 1
    with session_scope() as session:
        try:
            caseworker = create_caseworker(
                session,
                username=args.username,
                display_name=args.name or args.username,
                password=password,
                municipality=Municipality(args.municipality),
                team=Team(args.team),
                role=Role(args.role),
            )
        except ValueError as exc:
            print(f"Not created: {exc}", file=sys.stderr)
            return 1
        print(f"Created {caseworker.username} ({caseworker.municipality.value}, team {caseworker.team.value}).")
    return 0


def cmd_add_canned_reply(args: argparse.Namespace) -> int:
    with session_scope() as session:
        session.add(
            CannedReply(
                municipality=Municipality(args.municipality), team=Team(args.team), title=args.title, text=args.text
            )
        )
    print("Added.")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    settings = get_settings()
    age = args.older_than or timedelta(days=settings.retention_days)
    cutoff = utcnow() - age
    with session_scope() as session:
        senders = set(service.purge(session, age))
        open_senders = service.senders_with_open_cases(session)
        sessions = delete_expired_sessions(session)
        counters = throttle.delete_expired(session)
    senders |= set(inactive_senders(settings.tracker_database_url, cutoff))
    senders -= open_senders
    rows = sum(delete_tracker(settings.tracker_database_url, sender) for sender in senders)
    print(f"Purged data older than {age.days} days: {len(senders)} conversations, {rows} tracker events.")
    print(f"Deleted {sessions} expired caseworker sessions and {counters} expired login counters.")
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    with session_scope() as session:
        cases = service.erase(session, args.sender)
    rows = delete_tracker(get_settings().tracker_database_url, args.sender)
    print(f"Erased conversation {args.sender}: {cases} handoff cases, {rows} tracker events.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.admin", description="Administration commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    municipalities = [m.value for m in Municipality]
    teams = [t.value for t in Team]

    create = commands.add_parser("create-caseworker", help="create a caseworker (password asked at a prompt)")
    create.add_argument("--municipality", required=True, choices=municipalities)
    create.add_argument("--team", required=True, choices=teams)
    create.add_argument("--username", required=True)
    create.add_argument("--name", help="full name; the first name is shown to citizens")
    create.add_argument("--role", default=Role.CASEWORKER.value, choices=[r.value for r in Role])
    create.set_defaults(handler=cmd_create_caseworker)

    canned = commands.add_parser("add-canned-reply", help="add a canned reply for a municipality and team")
    canned.add_argument("--municipality", required=True, choices=municipalities)
    canned.add_argument("--team", required=True, choices=teams)
    canned.add_argument("--title", required=True)
    canned.add_argument("--text", required=True)
    canned.set_defaults(handler=cmd_add_canned_reply)

    purge = commands.add_parser(
        "purge", help="delete personal data of closed cases and old conversations, expired sessions and login counters"
    )
    purge.add_argument("--older-than", type=parse_age, help="for example 30d (default: RETENTION_DAYS)")
    purge.set_defaults(handler=cmd_purge)

    erase = commands.add_parser("erase", help="delete everything about one conversation (right to erasure)")
    erase.add_argument("--sender", required=True)
    erase.set_defaults(handler=cmd_erase)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    migrate(get_settings().database_url)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
