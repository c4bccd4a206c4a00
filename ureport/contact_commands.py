"""`ureport contacts forget`: erase a young person's number on request, keeping their anonymous answers."""

from __future__ import annotations

import argparse
import sys

from ureport.settings import Settings


def cmd_forget(args: argparse.Namespace, settings: Settings) -> int:
    from ureport.cli import _run_db
    from ureport.clock import utcnow
    from ureport.forget import forget
    from ureport.privacy import PhoneError

    value = sys.stdin.readline() if args.number == "-" else args.number  # "-": kept out of shell history
    keyring = settings.keyring()
    try:
        done = _run_db(settings, lambda: forget(value, keyring, settings.default_region, now=utcnow()))
    except PhoneError as exc:
        print(f"ureport: {exc}", file=sys.stderr)  # the message never repeats the number
        return 2
    if not done.found:
        print("ureport: no contact and no message with that number or digest", file=sys.stderr)
        return 1
    who = ", ".join(done.contacts) or "no contact (a number that never joined)"
    print(
        f"forgot {who}: number erased from {done.outbox} outgoing and {done.inbox} incoming messages "
        f"and {done.ussd_sessions} USSD sessions; the answers still count, anonymously"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    contacts = sub.add_parser("contacts", help="young people's contacts").add_subparsers(
        dest="contacts", required=True
    )
    forget = contacts.add_parser(
        "forget", help="erase a contact's number everywhere; its anonymous answers keep counting"
    )
    forget.add_argument("number", help="the phone number in any usual form, its digest, or - to read stdin")
    forget.set_defaults(func=cmd_forget)
