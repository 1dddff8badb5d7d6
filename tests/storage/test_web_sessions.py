"""The portal's sessions (storage/web_sessions.py) on both backends: found by the id's hash
until they expire, renewed only from the refresh token they hold, seen by every replica, and
gone at logout or once expired; their last request kept, never moved back."""

from __future__ import annotations

import hashlib

from storage.database import Database
from storage.web_sessions import WebSession

NOW = 1_800_000_000_000
KEY = hashlib.sha256(b"a cookie id").digest()
SESSION = WebSession(
    access_token="access-1",
    refresh_token="refresh-1",
    party_id="91440300MA5G1234XY",
    username="alice",
    created_at_unix_ms=NOW,
    expires_at_unix_ms=NOW + 60_000,
    last_seen_unix_ms=NOW,
)


async def test_a_session_is_found_until_it_expires(db: Database, other_db: Database) -> None:
    await db.web_sessions.open(KEY, SESSION)
    assert await other_db.web_sessions.get(KEY, NOW + 1) == SESSION  # any replica
    assert await db.web_sessions.get(KEY, NOW + 60_000) is None
    assert await db.web_sessions.get(hashlib.sha256(b"another").digest(), NOW) is None
    assert await db.web_sessions.forget_expired(NOW + 60_000) == 1
    assert await db.web_sessions.get(KEY, NOW) is None


async def test_a_session_is_renewed_only_from_the_refresh_token_it_holds(db: Database) -> None:
    await db.web_sessions.open(KEY, SESSION)
    assert await db.web_sessions.renew(
        KEY, old_refresh_token="refresh-1", access_token="access-2", refresh_token="refresh-2"
    )
    assert not await db.web_sessions.renew(
        KEY, old_refresh_token="refresh-1", access_token="access-3", refresh_token="refresh-3"
    )
    found = await db.web_sessions.get(KEY, NOW)
    assert found is not None
    assert (found.access_token, found.refresh_token) == ("access-2", "refresh-2")


async def test_logout_deletes_the_session(db: Database) -> None:
    await db.web_sessions.open(KEY, SESSION)
    await db.web_sessions.end(KEY)
    assert await db.web_sessions.get(KEY, NOW) is None


async def test_the_last_request_is_kept_and_never_moved_back(
    db: Database, other_db: Database
) -> None:
    await db.web_sessions.open(KEY, SESSION)
    await db.web_sessions.touch(KEY, NOW + 20_000)
    await other_db.web_sessions.touch(KEY, NOW + 10_000)  # a slower replica, later
    found = await other_db.web_sessions.get(KEY, NOW)
    assert found is not None and found.last_seen_unix_ms == NOW + 20_000
