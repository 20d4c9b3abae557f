"""Administration commands.

    python -m bot.admin create-caseworker --municipality gladsaxe --team borger --username anne --name "Anne Hansen"
    python -m bot.admin add-canned-reply --municipality gladsaxe --team borger --title "Hilsen" --text "Hej, ..."
    python -m bot.admin create-caseworker --role curator --municipality rodovre --username lis --name "Lis Holm"
    python -m bot.admin purge [--older-than 30d]
    python -m bot.admin erase --sender <conversation id>
    python -m bot.admin insights --municipality gladsaxe --days 7 --format json|table
    python -m bot.admin maintenance on --municipality gladsaxe [--message "..."]   (or --all; off likewise)
    python -m bot.admin reload-knowledge

Passwords are asked for at a prompt (twice), or read from standard input
when it is not a terminal; never taken from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta

from bot.caseworker import throttle
from bot.caseworker.auth import MIN_PASSWORD_LENGTH, create_caseworker, delete_expired_sessions
from bot.handoff import service
from bot.insights import maintenance, records
from bot.insights.export import as_table
from bot.insights.report import Period, build_report
from bot.knowledge import reload as knowledge_reload
from bot.knowledge.service import get_engine
from bot.knowledge.validate import validate
from bot.privacy import hash_sender
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


def _read_secret(prompt: str) -> str:
    """A line typed at the terminal without echo, or read from piped standard input."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


def _ask_password() -> str:
    """Asked twice at a terminal. Piped on standard input (no terminal), one
    line will do; a second line, when there is one, must repeat it."""
    piped = not sys.stdin.isatty()
    while True:
        password = _read_secret("Adgangskode: ")
        if len(password) < MIN_PASSWORD_LENGTH:
            print(f"Adgangskoden skal have mindst {MIN_PASSWORD_LENGTH} tegn.", file=sys.stderr)
            continue
        try:
            again = _read_secret("Gentag adgangskoden: ")
        except EOFError:
            if piped:
                return password
            raise
        if password == again:
            return password
        print("De to adgangskoder er ikke ens.", file=sys.stderr)


def cmd_create_caseworker(args: argparse.Namespace) -> int:
    role = Role(args.role)
    if role.handles_cases and not args.team:
        print("Not created: caseworkers and admins need --team (borger or virksomhed).", file=sys.stderr)
        return 1
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
                team=Team(args.team) if role.handles_cases else None,
                role=role,
            )
        except ValueError as exc:
            print(f"Not created: {exc}", file=sys.stderr)
            return 1
        team = f", team {caseworker.team.value}" if caseworker.team else ""
        print(f"Created {caseworker.username} ({role.value}, {caseworker.municipality.value}{team}).")
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
        turns = records.purge(session, cutoff)
    senders |= set(inactive_senders(settings.tracker_database_url, cutoff))
    senders -= open_senders
    rows = sum(delete_tracker(settings.tracker_database_url, sender) for sender in senders)
    print(f"Purged data older than {age.days} days: {len(senders)} conversations, {rows} tracker events.")
    print(f"Deleted {turns} turn records with their feedback.")
    print(f"Deleted {sessions} expired caseworker sessions and {counters} expired login counters.")
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    settings = get_settings()
    with session_scope() as session:
        cases = service.erase(session, args.sender)
        turns = records.erase(session, hash_sender(args.sender, settings.sender_hash_salt.get_secret_value()))
    rows = delete_tracker(settings.tracker_database_url, args.sender)
    print(f"Erased conversation {args.sender}: {cases} handoff cases, {turns} turn records, {rows} tracker events.")
    return 0


def cmd_insights(args: argparse.Namespace) -> int:
    municipality = Municipality(args.municipality) if args.municipality else None
    try:
        period = Period.last_days(args.days)
    except ValueError as exc:
        print(f"No report: {exc}.", file=sys.stderr)
        return 1
    with session_scope() as session:
        report = build_report(session, municipality, period, get_settings(), get_engine().kb)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.format == "json" else as_table(report), end="")
    if args.format == "json":
        print()
    return 0


def cmd_maintenance(args: argparse.Namespace) -> int:
    municipality = None if args.all else Municipality(args.municipality)
    where = municipality.label if municipality else "alle kommuner"
    with session_scope() as session:
        if args.state == "on":
            closure = maintenance.switch_on(session, municipality, args.message, by=None)
            print(f"The chat is closed for {where}. Users are told: {closure.message}")
        else:
            was_closed = maintenance.switch_off(session, municipality, by=None)
            print(f"The chat is open for {where}." if was_closed else f"The chat was not closed for {where}.")
    return 0


def cmd_reload_knowledge(args: argparse.Namespace) -> int:
    problems = validate(get_settings().knowledge_dir)
    if problems:
        print("Refused: the knowledge base has problems; the assistant keeps the articles it has.", file=sys.stderr)
        print("\n".join(problems), file=sys.stderr)
        return 1
    with session_scope() as session:
        reload_id = knowledge_reload.request(session)
    outcome = knowledge_reload.wait_for(reload_id, args.timeout)
    if outcome is None:
        print(f"No action server answered within {args.timeout:g} s; a server that starts loads the new articles.")
        return 1
    if outcome.status == knowledge_reload.REFUSED:
        print("Refused by the action server; it keeps the articles it has:", file=sys.stderr)
        print(outcome.detail, file=sys.stderr)
        return 1
    print(f"Reloaded: the action server now answers from {outcome.detail}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.admin", description="Administration commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    municipalities = [m.value for m in Municipality]
    teams = [t.value for t in Team]

    create = commands.add_parser(
        "create-caseworker",
        help="create an account: caseworker, curator or admin (password asked at a prompt, or piped on stdin)",
    )
    create.add_argument("--municipality", required=True, choices=municipalities)
    create.add_argument("--team", choices=teams, help="required for caseworkers and admins; curators have none")
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

    insights = commands.add_parser("insights", help="the insights page's figures for the last days")
    insights.add_argument("--municipality", choices=municipalities, help="default: all four")
    insights.add_argument("--days", type=int, default=7, help="today and the days before it (default 7)")
    insights.add_argument("--format", choices=["json", "table"], default="table")
    insights.set_defaults(handler=cmd_insights)

    switch = commands.add_parser("maintenance", help="close the chat (on) or open it again (off)")
    switch.add_argument("state", choices=["on", "off"])
    where = switch.add_mutually_exclusive_group(required=True)
    where.add_argument("--municipality", choices=municipalities)
    where.add_argument("--all", action="store_true", help="every municipality")
    switch.add_argument("--message", help="what users are told (default: a short Danish notice)")
    switch.set_defaults(handler=cmd_maintenance)

    reload = commands.add_parser(
        "reload-knowledge", help="validate knowledge/ and make the running action server answer from it"
    )
    reload.add_argument("--timeout", type=float, default=60, help="seconds to wait for the action server")
    reload.set_defaults(handler=cmd_reload_knowledge)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    migrate(get_settings().database_url)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
