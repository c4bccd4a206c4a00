"""`ureport users add|list|remove|disable|enable|set-password`: staff accounts from the terminal."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ureport.accounts import AccountError, add_user, remove_user, set_active, set_password, user_rows
from ureport.i18n import LANGUAGES
from ureport.models import Role
from ureport.settings import Settings

RunDb = Callable[[Settings, Callable[[], Awaitable[Any]]], Any]


def _read_password(from_stdin: bool) -> str:
    """One line from standard input (scripts), or typed twice at a prompt that does not echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Same password again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def cmd_add(args: argparse.Namespace, settings: Settings, run_db: RunDb) -> int:
    role = Role(args.role)
    password = _read_password(args.password_stdin)
    user, places = run_db(
        settings, lambda: add_user(args.email, role, password, args.district or [], language=args.lang)
    )
    where = f" for {', '.join(p.name for p in places)}" if places else ""
    print(f"added {user.email} ({user.role.value}){where}")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings, run_db: RunDb) -> int:
    for user, districts in run_db(settings, user_rows):
        state = "" if user.active else " (disabled)"
        print(f"{user.email:32} {user.role.value:10} {', '.join(districts) or '-'}{state}")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings, run_db: RunDb) -> int:
    run_db(settings, lambda: remove_user(args.email))
    print(f"removed {args.email}")
    return 0


def cmd_active(args: argparse.Namespace, settings: Settings, run_db: RunDb) -> int:
    active = args.users == "enable"
    run_db(settings, lambda: set_active(args.email, active))
    print(f"{'enabled' if active else 'disabled (and signed out)'} {args.email}")
    return 0


def cmd_password(args: argparse.Namespace, settings: Settings, run_db: RunDb) -> int:
    password = _read_password(args.password_stdin)
    run_db(settings, lambda: set_password(args.email, password))
    print(f"new password for {args.email} (its sessions have ended)")
    return 0


def run(command: Callable[[argparse.Namespace, Settings, RunDb], int], run_db: RunDb) -> Callable[..., int]:
    """The command as cli.main calls it, an AccountError printed as a one-line error."""

    def call(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return command(args, settings, run_db)
        except AccountError as exc:
            print(f"ureport: {exc}", file=sys.stderr)
            return 2

    return call


def add_commands(sub: Any, run_db: RunDb) -> None:
    users = sub.add_parser("users", help="staff accounts: admins, ambassadors, viewers").add_subparsers(
        dest="users", required=True
    )
    add = users.add_parser("add", help="add an account (asks for its password)")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--district", action="append", help="an ambassador's district (repeat for several)")
    add.add_argument("--lang", choices=LANGUAGES, help="the account's language for pages and downloads")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=run(cmd_add, run_db))
    users.add_parser("list", help="list accounts").set_defaults(func=run(cmd_list, run_db))
    for name, help_text, command in (
        ("remove", "delete an account and its sessions", cmd_remove),
        ("disable", "keep an account but refuse its log-ins and end its sessions", cmd_active),
        ("enable", "let a disabled account log in again", cmd_active),
    ):
        parser = users.add_parser(name, help=help_text)
        parser.add_argument("email")
        parser.set_defaults(func=run(command, run_db))
    password = users.add_parser("set-password", help="give an account a new password (ends its sessions)")
    password.add_argument("email")
    password.add_argument("--password-stdin", action="store_true", help="read it from standard input")
    password.set_defaults(func=run(cmd_password, run_db))
