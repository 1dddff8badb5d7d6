"""A node's operators: who may use its console. Not parties' users and not federated: an
operator exists at one node, and logs in there only, with a password and a TOTP code
(identity/totp.py).

`add` makes a one-time password and a TOTP secret; the first login must set a new password.
`reset` makes a new one-time password, a new TOTP secret or both (a forgotten password, a lost
phone), ends the operator's sessions and lifts a lock; `remove` ends the operator altogether.
A login is counted, slowed and locked exactly as a party user's (identity/guards.py), under
its own key: a wrong password and a wrong code fail alike (`login.failed`), so the answer
does not tell which factor was wrong.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated, quote
from core.parties import validate_password
from identity.guards import LoginGuard
from identity.local_secret import LocalSecrets
from identity.passwords import check_password, hash_password
from identity.totp import accepted_step, new_secret, provisioning_uri
from storage.database import Database
from storage.operators import Operator

__all__ = ["Enrolment", "Operators", "Reset", "operator_key", "validate_operator_name"]

_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")


def validate_operator_name(value: str, *, field: str = "user") -> str:
    if not _NAME.match(value):
        raise InvalidArgument(
            "operator.bad_name",
            f"{field}: {quote(value)} must be 1-64 lowercase letters, digits, '.', '_' or '-',"
            " starting with a letter",
            field=field,
        )
    return value


def operator_key(node_id: str, username: str) -> str:
    """The lock's key: apart from every party user's (`user:NODE/PARTY/USER`)."""
    return f"operator:{node_id}/{username}"


@dataclass(frozen=True)
class Enrolment:
    """What `swnode operator add` prints, once."""

    username: str
    password: str
    totp_uri: str


@dataclass(frozen=True)
class Reset:
    """What `swnode operator reset` prints, once: what was made anew (None: kept)."""

    username: str
    password: str | None
    totp_uri: str | None


def _unknown(name: str) -> NotFound:
    return NotFound(
        "operator.unknown", f"user: there is no operator {quote(name)} at this node", field="user"
    )


class Operators:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        guard: LoginGuard,
        clock_ms: Callable[[], int],
        secrets: LocalSecrets,
    ) -> None:
        self.node_id = node_id
        self._db = db
        self._secrets = secrets  # TOTP secrets are stored sealed with them
        self._guard = guard
        self._clock_ms = clock_ms

    async def add(self, username: str) -> Enrolment:
        name = validate_operator_name(username)
        password = secrets.token_urlsafe(18)
        secret = new_secret()
        added = await self._db.operators.add(
            Operator(
                username=name,
                password_hash=await hash_password(password),
                totp_secret=self._secrets.seal_totp(secret, username=name),
                totp_last_step=0,
                must_change_password=True,
                created_at_unix_ms=self._clock_ms(),
            )
        )
        if not added:
            raise AlreadyExists(
                "operator.exists", f"user: operator {quote(name)} exists already", field="user"
            )
        return Enrolment(
            name, password, provisioning_uri(secret, node_id=self.node_id, username=name)
        )

    async def reset(self, username: str, *, password: bool = True, totp: bool = True) -> Reset:
        """A new one-time password and/or TOTP secret for an existing operator; its sessions
        end and a lock after failed sign-ins is lifted, so it can sign in at once."""
        name = validate_operator_name(username)
        if not (password or totp):
            raise ValueError("reset: the password, the TOTP secret or both")
        new_password = secrets.token_urlsafe(18) if password else None
        secret = new_secret() if totp else None
        done = await self._db.operators.reset(
            name,
            password_hash=await hash_password(new_password) if new_password else None,
            totp_secret=self._secrets.seal_totp(secret, username=name) if secret else None,
        )
        if not done:
            raise _unknown(name)
        await self._db.login_failures.clear(operator_key(self.node_id, name))  # the lock lifted
        uri = provisioning_uri(secret, node_id=self.node_id, username=name) if secret else None
        return Reset(name, new_password, uri)

    async def remove(self, username: str) -> None:
        """The operator can no longer sign in; its open sessions end."""
        name = validate_operator_name(username)
        if not await self._db.operators.remove(name):
            raise _unknown(name)
        await self._db.login_failures.clear(operator_key(self.node_id, name))

    async def login(self, username: str, password: str, code: str, source: str) -> Operator:
        """The operator, if the password and the code are right; else `login.failed` (or
        `login.locked`), counted and delayed as every login is."""
        attempt = await self._guard.admit_source(f"console:{source}")
        key = operator_key(self.node_id, username)
        failures = await self._guard.admit_user(key)
        operator = await self._db.operators.get(username)
        password_ok = await check_password(operator.password_hash if operator else None, password)
        step = (
            accepted_step(
                self._secrets.open_totp(operator.totp_secret, username=operator.username),
                code,
                now_s=self._clock_ms() / 1000,
                last_step=operator.totp_last_step,
            )
            if operator is not None and password_ok
            else None
        )
        if (
            operator is None
            or step is None
            or not await self._db.operators.use_step(username, step)
        ):
            await self._guard.failed(attempt, failures)
        await self._guard.succeeded(key)
        await self._guard.take_back(attempt)
        return operator

    async def change_password(self, username: str, current: str, new: str) -> None:
        operator = await self._db.operators.get(username)
        if operator is None or not await check_password(operator.password_hash, current):
            raise Unauthenticated(
                "login.failed",
                "current_password: not the current password",
                field="current_password",
            )
        new = validate_password(new, field="new_password")
        if new == current:
            raise InvalidArgument(
                "operator.same_password",
                "new_password: must differ from the one-time password",
                field="new_password",
            )
        await self._db.operators.set_password(username, await hash_password(new))
