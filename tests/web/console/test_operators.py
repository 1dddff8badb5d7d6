"""Operators, their sessions and the audit log on a real database (both backends): an operator
added once, logged in with password and code, refused alike for either wrong factor, locked
after failures in a row, a code good once; the audit log kept in order."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pyotp
import pytest

from core.audit import audit_record
from core.errors import (
    AlreadyExists,
    ConfigError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)
from identity.guards import LoginGuard
from identity.local_secret import LocalSecrets, local_secret_path, open_local_secrets
from identity.lockout import LockoutPolicy
from identity.operators import Operators, operator_key
from storage.database import Database
from storage.operators import Operator

NOW_MS = 1_800_000_000_000


class Clock:
    def __init__(self) -> None:
        self.ms = NOW_MS

    def __call__(self) -> int:
        return self.ms


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def db(engine_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(engine_url, base_dir=tmp_path)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def operators_of(db: Database, clock: Clock, secrets: LocalSecrets) -> Operators:
    policy = LockoutPolicy(lock_after=3, lock_s=60)
    guard = LoginGuard(db, policy, clock, no_sleep)
    return Operators(node_id="CN-GD", db=db, guard=guard, clock_ms=clock, secrets=secrets)


@pytest.fixture
async def local(db: Database, tmp_path: Path) -> LocalSecrets:
    return await open_local_secrets(tmp_path, db)


@pytest.fixture
def operators(db: Database, clock: Clock, local: LocalSecrets) -> Operators:
    return operators_of(db, clock, local)


def secret_of(uri: str) -> str:
    otp = pyotp.parse_uri(uri)
    assert isinstance(otp, pyotp.TOTP)
    return otp.secret


async def test_an_operator_logs_in_with_both_factors_and_must_change_the_password(
    operators: Operators, db: Database, clock: Clock
) -> None:
    enrolment = await operators.add("alice")
    assert enrolment.totp_uri.startswith("otpauth://totp/") and len(enrolment.password) >= 20
    code = pyotp.TOTP(secret_of(enrolment.totp_uri)).at(clock.ms / 1000)
    operator = await operators.login("alice", enrolment.password, code, "127.0.0.1")
    assert operator.username == "alice" and operator.must_change_password
    stored = await db.operators.get("alice")
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    with pytest.raises(InvalidArgument) as same:
        await operators.change_password("alice", enrolment.password, enrolment.password)
    assert same.value.field == "new_password"
    await operators.change_password("alice", enrolment.password, "a long new passphrase")
    changed = await db.operators.get("alice")
    assert changed is not None and not changed.must_change_password


async def test_the_same_name_twice_is_refused(operators: Operators) -> None:
    await operators.add("bob")
    with pytest.raises(AlreadyExists) as twice:
        await operators.add("bob")
    assert twice.value.reason == "operator.exists"


async def test_a_wrong_code_a_wrong_password_and_a_used_code_fail_alike(
    operators: Operators, clock: Clock
) -> None:
    enrolment = await operators.add("carol")
    totp = pyotp.TOTP(secret_of(enrolment.totp_uri))
    right = totp.at(clock.ms / 1000)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for password, code in ((enrolment.password, wrong), ("not the password", right)):
        with pytest.raises(Unauthenticated) as refused:
            await operators.login("carol", password, code, "127.0.0.1")
        assert refused.value.reason == "login.failed"
    await operators.login("carol", enrolment.password, right, "127.0.0.1")
    with pytest.raises(Unauthenticated):  # the same code again
        await operators.login("carol", enrolment.password, right, "127.0.0.1")


async def test_failures_in_a_row_lock_the_operator(
    operators: Operators, clock: Clock, db: Database
) -> None:
    enrolment = await operators.add("dave")
    totp = pyotp.TOTP(secret_of(enrolment.totp_uri))
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            await operators.login("dave", enrolment.password, "000000", "127.0.0.1")
    with pytest.raises(ResourceExhausted) as locked:
        await operators.login("dave", enrolment.password, totp.at(clock.ms / 1000), "127.0.0.1")
    assert locked.value.reason == "login.locked"
    _, until = await db.login_failures.failures(operator_key("CN-GD", "dave"))
    assert until is not None and until > clock.ms
    clock.ms += 61_000  # the lock is over
    await operators.login("dave", enrolment.password, totp.at(clock.ms / 1000), "127.0.0.1")


async def test_an_unknown_operator_fails_as_a_wrong_password_does(operators: Operators) -> None:
    with pytest.raises(Unauthenticated) as refused:
        await operators.login("nobody", "whatever it is", "123456", "127.0.0.1")
    assert refused.value.reason == "login.failed"


async def test_a_console_session_lasts_until_it_expires_or_ends(db: Database) -> None:
    key = hashlib.sha256(b"cookie").digest()
    await db.operators.open_session(key, "alice", NOW_MS, NOW_MS + 1000)
    assert await db.operators.session(key, NOW_MS + 999) == "alice"
    assert await db.operators.session(key, NOW_MS + 1000) is None
    await db.operators.end_session(key)
    assert await db.operators.session(key, NOW_MS) is None


async def test_the_audit_log_keeps_every_record_in_order(db: Database) -> None:
    for i, action in enumerate(("login", "messages.search", "message.redrive")):
        await db.audit.append(
            audit_record(
                at_unix_ms=NOW_MS + i, operator="alice", action=action, obj=f"o{i}", outcome="ok"
            )
        )
    assert [r.action for r in await db.audit.all()] == [
        "login",
        "messages.search",
        "message.redrive",
    ]
    assert [r.object for r in await db.audit.latest(2)] == ["o2", "o1"]


async def test_messages_are_found_by_each_filter_and_counted_by_day(db: Database) -> None:
    from storage.message_search import MessageQuery
    from tests.storage.test_outbox import message, queue

    await queue(db, [message(1), message(2, next_hop="CN"), message(3, next_hop="CN")])
    find = db.message_search.find
    assert [r.message_id for r in await find("CN-GD", MessageQuery(message_id="m-0002"))] == [
        "m-0002"
    ]
    by_peer = await find("CN-GD", MessageQuery(peer="CN"))
    assert sorted(r.message_id for r in by_peer) == ["m-0002", "m-0003"]
    assert {r.direction for r in by_peer} == {"out"}
    assert [r.message_id for r in await find("CN-GD", MessageQuery(conversation_id="c-3"))] == [
        "m-0003"
    ]
    assert len(await find("CN-GD", MessageQuery(status="queued", peer="CN-SH"))) == 1
    assert await find("CN-GD", MessageQuery(status="dead")) == []
    assert len(await find("CN-GD", MessageQuery(document_type="certificate_of_origin"))) == 3
    assert await db.message_search.traffic_by_day(NOW_MS - 86_400_000) == [
        (NOW_MS // 86_400_000, "out", 3)
    ]


async def test_totp_secrets_are_sealed_at_rest_with_the_local_secret(
    operators: Operators, db: Database, clock: Clock, tmp_path: Path
) -> None:
    enrolment = await operators.add("erin")
    secret = secret_of(enrolment.totp_uri)
    stored = await db.operators.get("erin")
    assert stored is not None and stored.totp_secret.startswith("enc1:")
    assert secret not in stored.totp_secret
    rows = await db.engine.fetch("SELECT * FROM operators")
    assert not [r for r in rows if any(secret in str(v) for v in dict(r).values())]
    path = local_secret_path(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600 and len(path.read_bytes()) == 32
    # Opened again (a restart), the same secret: the code still logs in, and the session
    # secret is the same.
    again = await open_local_secrets(tmp_path, db)
    code = pyotp.TOTP(secret).at(clock.ms / 1000)
    await operators_of(db, clock, again).login("erin", enrolment.password, code, "127.0.0.1")


async def test_clear_secrets_of_an_older_release_are_sealed_at_start(
    db: Database, clock: Clock, tmp_path: Path
) -> None:
    clear = pyotp.random_base32()
    operator = Operator("frank", "$argon2id$unused", clear, 0, False, NOW_MS)
    assert await db.operators.add(operator)
    first = await open_local_secrets(tmp_path, db)
    stored = await db.operators.get("frank")
    assert stored is not None and stored.totp_secret.startswith("enc1:")
    assert first.open_totp(stored.totp_secret, username="frank") == clear
    assert await db.operators.clear_totp() == []
    # A value moved to another row does not open there.
    with pytest.raises(FailedPrecondition) as moved:
        first.open_totp(stored.totp_secret, username="alice")
    assert moved.value.reason == "secret.undecryptable"
    assert (await open_local_secrets(tmp_path, db)).session_secret == first.session_secret


async def test_a_missing_local_secret_with_sealed_rows_is_a_clear_error(
    operators: Operators, db: Database, tmp_path: Path
) -> None:
    await operators.add("grace")
    local_secret_path(tmp_path).unlink()
    with pytest.raises(ConfigError) as missing:
        await open_local_secrets(tmp_path, db)
    assert "keys/local.secret" in str(missing.value) and "1 operators" in str(missing.value)
    assert not local_secret_path(tmp_path).exists()  # no new one that would open nothing


async def test_a_local_secret_readable_by_others_is_refused(db: Database, tmp_path: Path) -> None:
    await open_local_secrets(tmp_path, db)
    local_secret_path(tmp_path).chmod(0o644)
    with pytest.raises(ConfigError) as readable:
        await open_local_secrets(tmp_path, db)
    assert "readable by others" in str(readable.value)


async def test_a_reset_gives_new_factors_ends_sessions_and_lifts_the_lock(
    operators: Operators, clock: Clock, db: Database
) -> None:
    enrolment = await operators.add("erin")
    old = pyotp.TOTP(secret_of(enrolment.totp_uri))
    key = hashlib.sha256(b"erin's cookie").digest()
    await db.operators.open_session(key, "erin", NOW_MS, NOW_MS + 60_000)
    for _ in range(3):  # locked out
        with pytest.raises(Unauthenticated):
            await operators.login("erin", "a forgotten password", "000000", "127.0.0.1")
    reset = await operators.reset("erin")
    assert reset.username == "erin" and reset.password and reset.totp_uri
    assert reset.password != enrolment.password
    new = pyotp.TOTP(secret_of(reset.totp_uri))
    assert new.secret != old.secret
    assert await db.operators.session(key, NOW_MS) is None  # signed out
    with pytest.raises(Unauthenticated):  # the old phone's code no longer works
        await operators.login("erin", reset.password, old.at(clock.ms / 1000), "127.0.0.1")
    operator = await operators.login("erin", reset.password, new.at(clock.ms / 1000), "127.0.0.1")
    assert operator.must_change_password  # the one-time password is replaced first


async def test_a_reset_of_the_password_only_keeps_the_authenticator(
    operators: Operators, clock: Clock, db: Database, local: LocalSecrets
) -> None:
    enrolment = await operators.add("frank")
    await operators.change_password("frank", enrolment.password, "a long new passphrase")
    reset = await operators.reset("frank", totp=False)
    assert reset.password and reset.totp_uri is None
    stored = await db.operators.get("frank")
    assert stored is not None and stored.must_change_password
    secret = local.open_totp(stored.totp_secret, username="frank")
    assert secret == secret_of(enrolment.totp_uri)
    code = pyotp.TOTP(secret).at(clock.ms / 1000)
    with pytest.raises(Unauthenticated):
        await operators.login("frank", "a long new passphrase", code, "127.0.0.1")
    await operators.login("frank", reset.password, code, "127.0.0.1")
    only_totp = await operators.reset("frank", password=False)
    assert only_totp.password is None and only_totp.totp_uri
    kept = await db.operators.get("frank")
    assert kept is not None and kept.password_hash == stored.password_hash
    assert kept.totp_secret.startswith("enc1:") and kept.totp_last_step == 0  # sealed
    assert local.open_totp(kept.totp_secret, username="frank") == secret_of(only_totp.totp_uri)


async def test_a_removed_operator_cannot_sign_in_and_its_name_is_free_again(
    operators: Operators, clock: Clock, db: Database
) -> None:
    enrolment = await operators.add("grace")
    key = hashlib.sha256(b"grace's cookie").digest()
    await db.operators.open_session(key, "grace", NOW_MS, NOW_MS + 60_000)
    await operators.remove("grace")
    assert await db.operators.get("grace") is None
    assert await db.operators.session(key, NOW_MS) is None
    code = pyotp.TOTP(secret_of(enrolment.totp_uri)).at(clock.ms / 1000)
    with pytest.raises(Unauthenticated) as refused:
        await operators.login("grace", enrolment.password, code, "127.0.0.1")
    assert refused.value.reason == "login.failed"
    again = await operators.add("grace")
    assert again.password != enrolment.password


@pytest.mark.parametrize("action", ["reset", "remove"])
async def test_reset_and_remove_name_the_user_at_fault(operators: Operators, action: str) -> None:
    act = operators.reset if action == "reset" else operators.remove
    with pytest.raises(NotFound) as unknown:
        await act("nobody")
    assert (unknown.value.reason, unknown.value.field) == ("operator.unknown", "user")
    assert unknown.value.message == "user: there is no operator 'nobody' at this node"
    with pytest.raises(InvalidArgument) as bad:
        await act("Not A Name")
    assert (bad.value.reason, bad.value.field) == ("operator.bad_name", "user")
