"""`swnode operator add`: a console operator of this node (identity/operators.py), with a
one-time password and a TOTP secret to enrol in an authenticator app, printed once."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from identity.guards import LoginGuard
from identity.local_secret import open_local_secrets
from identity.operators import Enrolment, Operators
from node.config import load_config
from node.operator.admin import now_ms, open_db
from node.runtime import account_settings

__all__ = ["add_arguments", "add_operator"]


async def add_operator(node_dir: Path, username: str) -> Enrolment:
    config = load_config(node_dir)
    db = await open_db(config)
    try:
        guard = LoginGuard(db, account_settings(config).lockout, now_ms)
        secrets = await open_local_secrets(node_dir, db)  # made here if the node never ran
        return await Operators(
            node_id=config.id, db=db, guard=guard, clock_ms=now_ms, secrets=secrets
        ).add(username)
    finally:
        await db.close()


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="operator_command", required=True, metavar="ACTION")
    q = sub.add_parser("add", help="add a console operator; prints a one-time password and TOTP")
    q.set_defaults(func=_cmd_add)
    q.add_argument("--dir", type=Path, required=True)
    q.add_argument("--user", required=True, help="the operator's name, e.g. alice")
    q.add_argument("--json", action="store_true")
