"""The node's local secret: keys/local.secret, 32 random bytes, mode 0600, made on first start
and never published (core.local_secrets says what is derived from it).

Opening it also seals, at rest, whatever an older release stored in clear (operators' TOTP
secrets): a data migration run at every start until none is left. If the file is missing while
the database holds secrets sealed with it, the node refuses to start rather than make a new one
that would open none of them.

Replicas of a node share it as they share the node's other keys: copy keys/ whole.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from core import local_secrets as ls
from core.errors import ConfigError
from identity.keys import KEY_DIR, write_private
from storage.database import Database

__all__ = ["FILENAME", "LocalSecrets", "local_secret_path", "open_local_secrets"]

log = logging.getLogger("swnode.keys")

FILENAME = "local.secret"


def local_secret_path(node_dir: Path) -> Path:
    return node_dir / KEY_DIR / FILENAME


@dataclass(frozen=True)
class LocalSecrets:
    """The keys derived from the local secret, and sealing with them."""

    _totp: bytes
    session_secret: bytes

    @classmethod
    def of(cls, secret: bytes) -> LocalSecrets:
        return cls(ls.derive(secret, ls.TOTP), ls.derive(secret, ls.SESSION))

    def seal_totp(self, secret: str, *, username: str) -> str:
        return ls.seal(self._totp, secret, bound_to=username, nonce=os.urandom(ls.NONCE_BYTES))

    def open_totp(self, stored: str, *, username: str) -> str:
        return ls.open_sealed(
            self._totp, stored, bound_to=username, what=f"the TOTP secret of operator {username}"
        )


def _read_or_create(node_dir: Path, *, create: bool) -> bytes | None:
    path = local_secret_path(node_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
        try:
            write_private(path, os.urandom(ls.SECRET_BYTES))
            log.info("made the node's local secret: %s (back it up with keys/)", path)
        except FileExistsError:
            pass  # another process of this node made it first
        raw = path.read_bytes()
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:  # as every private key (identity/keys.py)
        raise ConfigError(f"{path}: readable by others (mode {mode:o}); run chmod 600 {path}")
    if len(raw) != ls.SECRET_BYTES:
        raise ConfigError(f"{path}: must hold {ls.SECRET_BYTES} bytes, not {len(raw)}")
    return raw


async def open_local_secrets(node_dir: Path, db: Database) -> LocalSecrets:
    """The node's local secrets, made if this is the first start; what was in clear is sealed."""
    raw = _read_or_create(node_dir, create=False)
    if raw is None:
        sealed = await db.operators.sealed_totp_count()
        if sealed:
            raise ConfigError(
                f"{local_secret_path(node_dir)}: missing, but the TOTP secrets of {sealed} "
                "operators in the database are sealed with it; restore it from the backup of "
                "keys/ (a new one would open none of them)",
                field="keys/local.secret",
            )
        raw = _read_or_create(node_dir, create=True)
    assert raw is not None
    secrets = LocalSecrets.of(raw)
    clear = await db.operators.clear_totp()
    for username, secret in clear:
        await db.operators.seal_totp(username, secret, secrets.seal_totp(secret, username=username))
    if clear:
        log.info("sealed the TOTP secrets of %d operators at rest", len(clear))
    return secrets
