"""`swnode operator add|reset|remove`: the console operators of this node (identity/operators.py).
`add` prints a one-time password and a TOTP secret to enrol in an authenticator app, once;
`reset` prints new ones for an operator who forgot the password or lost the phone; `remove`
ends an operator. A reset and a removal are written to the console's audit log, under the name
of the account that ran the command (`cli:NAME`), refused ones with their reason."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from core.audit import audit_record
from core.errors import SwnodeError
from identity.guards import LoginGuard
from identity.local_secret import open_local_secrets
from identity.operators import Enrolment, Operators, Reset
from node.config import load_config
from node.operator.admin import now_ms, open_db
from node.runtime import account_settings
from storage.database import Database

__all__ = ["add_arguments", "add_operator", "remove_operator", "reset_operator"]


@asynccontextmanager
async def _operators(node_dir: Path) -> AsyncIterator[tuple[Operators, Database]]:
    config = load_config(node_dir)
    db = await open_db(config)
    try:
        guard = LoginGuard(db, account_settings(config).lockout, now_ms)
        secrets = await open_local_secrets(node_dir, db)  # made here if the node never ran
        yield Operators(node_id=config.id, db=db, guard=guard, clock_ms=now_ms, secrets=secrets), db
    finally:
        await db.close()


def _who() -> str:
    """The account that ran the command, as the audit log names it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container's)
        return f"cli:uid {os.getuid()}"


async def _audited(
    db: Database, action: str, username: str, outcome: str, detail: str = ""
) -> None:
    await db.audit.append(
        audit_record(
            at_unix_ms=now_ms(),
            operator=_who(),
            action=action,
            obj=username,
            outcome=outcome,
            detail=detail,
        )
    )


async def add_operator(node_dir: Path, username: str) -> Enrolment:
    async with _operators(node_dir) as (operators, _):
        return await operators.add(username)


async def reset_operator(
    node_dir: Path, username: str, *, password: bool = True, totp: bool = True
) -> Reset:
    """New credentials (the password, the TOTP secret or both), recorded as `operator.reset`
    with what was made anew (never the secrets themselves)."""
    async with _operators(node_dir) as (operators, db):
        try:
            reset = await operators.reset(username, password=password, totp=totp)
        except SwnodeError as exc:
            await _audited(
                db, "operator.reset", username, "refused", f"{exc.reason}: {exc.message}"
            )
            raise
        made = " and ".join(n for n, new in (("password", password), ("totp", totp)) if new)
        await _audited(db, "operator.reset", reset.username, "ok", made)
        return reset


async def remove_operator(node_dir: Path, username: str) -> None:
    async with _operators(node_dir) as (operators, db):
        try:
            await operators.remove(username)
        except SwnodeError as exc:
            await _audited(
                db, "operator.remove", username, "refused", f"{exc.reason}: {exc.message}"
            )
            raise
        await _audited(db, "operator.remove", username, "ok")


def _cmd_add(args: argparse.Namespace) -> int:
    enrolment = asyncio.run(add_operator(args.dir, args.user))
    if args.json:
        print(
            json.dumps(
                {
                    "user": enrolment.username,
                    "password": enrolment.password,
                    "totp_uri": enrolment.totp_uri,
                },
                indent=2,
            )
        )
        return 0
    print(f"operator {enrolment.username} added; shown once, keep them apart:")
    print(f"  one-time password: {enrolment.password}  (a new one is set at the first login)")
    print(f"  TOTP, for an authenticator app: {enrolment.totp_uri}")
    return 0


def _cmd_reset(args: argparse.Namespace) -> int:
    both = not (args.password or args.totp)  # neither flag: both are reset
    reset = asyncio.run(
        reset_operator(args.dir, args.user, password=both or args.password, totp=both or args.totp)
    )
    made = {"password": reset.password, "totp_uri": reset.totp_uri}
    if args.json:
        print(
            json.dumps({"user": reset.username, **{k: v for k, v in made.items() if v}}, indent=2)
        )
        return 0
    print(f"operator {reset.username} reset, signed out and unlocked; shown once, keep them apart:")
    if reset.password:
        print(f"  one-time password: {reset.password}  (a new one is set at the next login)")
    if reset.totp_uri:
        print(f"  TOTP, for an authenticator app (the old one no longer works): {reset.totp_uri}")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    asyncio.run(remove_operator(args.dir, args.user))
    print(f"operator {args.user} removed; its console sessions are ended")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="operator_command", required=True, metavar="ACTION")
    q = sub.add_parser("add", help="add a console operator; prints a one-time password and TOTP")
    q.set_defaults(func=_cmd_add)
    q.add_argument("--dir", type=Path, required=True)
    q.add_argument("--user", required=True, help="the operator's name, e.g. alice")
    q.add_argument("--json", action="store_true")
    q = sub.add_parser(
        "reset", help="a new one-time password and TOTP secret for an operator (or one of them)"
    )
    q.set_defaults(func=_cmd_reset)
    q.add_argument("--dir", type=Path, required=True)
    q.add_argument("--user", required=True, help="the operator's name")
    q.add_argument("--password", action="store_true", help="reset the password only")
    q.add_argument("--totp", action="store_true", help="reset the TOTP secret only")
    q.add_argument("--json", action="store_true")
    q = sub.add_parser("remove", help="remove a console operator and end its sessions")
    q.set_defaults(func=_cmd_remove)
    q.add_argument("--dir", type=Path, required=True)
    q.add_argument("--user", required=True, help="the operator's name")
