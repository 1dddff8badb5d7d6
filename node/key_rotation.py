"""The running node's side of a key rotation (docs/PROTOCOL.md §2.9): it starts signing with a
new key once its own copy of the directory lists that key as valid, and picks up a key file
another process (`swnode rotate`, another replica) replaced.

`swnode rotate` writes the new key as `keys/<name>.next.key` and has the central list it, valid
from a moment later. Each tick, the node asks the pure rule (core.key_lifetimes.signing_choice)
which of its two keys to use now; when it is the new one, the file is moved over the old
(`os.replace`: whoever does it first wins, the old private key is gone). Every replica then sees
the key file change and swaps the key it signs with, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from core.algorithms import SigningKey, public_bytes
from core.key_lifetimes import signing_choice
from core.signing import key_id_of
from core.trust import TrustView, listed_certificates
from federation.directory_sync import DirectorySync
from identity.authority import Authority
from identity.keys import (
    KEY_DIR,
    ROTATING,
    load_signing_key,
    load_tls,
    next_key_path,
    next_tls_paths,
)
from swf.v1 import directory_pb2 as pb

__all__ = ["KeyWatch"]

log = logging.getLogger("swnode.keys")


@dataclass
class _Held:
    key_id: str
    stamp: tuple[int, int]  # (inode, mtime_ns) of the file it was read from


class KeyWatch:
    """Keeps the signing and token keys in use in step with the key files and the directory;
    `on_key(purpose, key, key_id)` is called for every key taken into use."""

    def __init__(
        self,
        *,
        node_id: str,
        node_dir: Path,
        keys: dict[str, SigningKey],
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        on_key: Callable[[str, SigningKey, str], None],
        on_tls: Callable[[ec.EllipticCurvePrivateKey, x509.Certificate], None] | None = None,
    ) -> None:
        self._node_id = node_id
        self._dir = node_dir
        self._trust = trust
        self._clock_ms = clock_ms
        self._on_key = on_key
        self._on_tls = on_tls
        self._tls_stamp = self._file_stamp(self._dir / KEY_DIR / "tls.crt")
        self._held = {
            purpose: _Held(key_id_of(node_id, purpose, key), self._stamp(purpose))
            for purpose, key in keys.items()
        }

    def _path(self, purpose: str) -> Path:
        return self._dir / KEY_DIR / ROTATING[purpose]

    def _stamp(self, purpose: str) -> tuple[int, int]:
        st = self._path(purpose).stat()
        return st.st_ino, st.st_mtime_ns

    def tick(self) -> None:
        for purpose in self._held:
            self._promote_if_due(purpose)
            self._reload_if_changed(purpose)
        if self._on_tls is not None:
            self._tls_tick(self._on_tls)

    @staticmethod
    def _file_stamp(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _tls_tick(
        self, on_tls: Callable[[ec.EllipticCurvePrivateKey, x509.Certificate], None]
    ) -> None:
        """A new TLS certificate is presented once the directory lists it and it is valid
        (its notBefore is the end of the rotation's activation delay)."""
        key_path, cert_path = next_tls_paths(self._dir)
        if key_path.exists() and cert_path.exists():
            _, cert = load_tls(self._dir, pending=True)
            me = self._trust().node(self._node_id)
            der = cert.public_bytes(Encoding.DER)
            valid_from = int(cert.not_valid_before_utc.timestamp() * 1000)
            if me is not None and der in listed_certificates(me) and valid_from <= self._clock_ms():
                try:
                    os.replace(key_path, self._dir / KEY_DIR / "tls.key")
                    os.replace(cert_path, self._dir / KEY_DIR / "tls.crt")
                except FileNotFoundError:
                    pass  # another replica moved them first
        stamp = self._file_stamp(self._dir / KEY_DIR / "tls.crt")
        if stamp is not None and stamp != self._tls_stamp:
            key, cert = load_tls(self._dir)
            if key.public_key() != cert.public_key():
                return  # half moved: the key follows within a tick
            self._tls_stamp = stamp
            log.info("TLS certificate in use: serial %x", cert.serial_number)
            on_tls(key, cert)

    def _promote_if_due(self, purpose: str) -> None:
        pending = next_key_path(self._dir, purpose)
        if not pending.exists():
            return
        new_id = key_id_of(self._node_id, purpose, load_signing_key(pending))
        me = self._trust().node(self._node_id)
        if me is None:
            return
        listed = me.signing_keys if purpose == "sig" else me.token_keys
        held = {self._held[purpose].key_id, new_id}
        if signing_choice(list(listed), held, self._clock_ms()) != new_id:
            return
        try:
            os.replace(pending, self._path(purpose))
        except FileNotFoundError:
            return  # another replica moved it first
        log.info("key %s is valid everywhere now; the node signs with it", new_id)

    def _reload_if_changed(self, purpose: str) -> None:
        try:
            stamp = self._stamp(purpose)
        except FileNotFoundError:
            return
        held = self._held[purpose]
        if stamp == held.stamp:
            return
        key = load_signing_key(self._path(purpose))
        kid = key_id_of(self._node_id, purpose, key)
        self._held[purpose] = _Held(kid, stamp)
        if kid != held.key_id:
            log.info("key in use for %s: %s (was %s)", purpose, kid, held.key_id)
            self._on_key(purpose, key, kid)

    async def run(self, interval_s: float = 1.0) -> None:
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("key upkeep failed")
            await asyncio.sleep(interval_s)


class DirectoryKeyWatch:
    """A central rotating its directory key (`swnode rotate --key directory`): the next key is
    announced in every directory it publishes, and signs them once `activation_ms` have passed
    since it was written, long enough for every member and trusting central to have fetched an
    announcing directory (PROTOCOL.md §2.9)."""

    def __init__(
        self,
        *,
        node_dir: Path,
        authority: Authority,
        sync: DirectorySync,
        activation_ms: int,
        clock_ms: Callable[[], int],
        on_key: Callable[[SigningKey], None],
    ) -> None:
        self._dir = node_dir
        self._authority = authority
        self._sync = sync
        self._activation_ms = activation_ms
        self._clock_ms = clock_ms
        self._on_key = on_key

    async def tick(self) -> None:
        pending = self._dir / KEY_DIR / "directory.next.key"
        try:
            written_ms = int(pending.stat().st_mtime * 1000)
        except FileNotFoundError:
            return
        key = load_signing_key(pending)
        announced = self._authority.announced_directory_key
        if announced is None or public_bytes(announced) != public_bytes(key):
            self._authority.announce_directory_key(key)
        if self._clock_ms() < written_ms + self._activation_ms:
            return
        os.replace(pending, self._dir / KEY_DIR / "directory.key")
        self._sync.use_directory_key(public_bytes(key))
        self._authority.use_directory_key(key)
        self._on_key(key)
        signed = await self._authority.publish()
        version = pb.Directory.FromString(signed.directory).version
        log.info("the directory is signed by its new key from version %d on", version)

    async def run(self, interval_s: float = 1.0) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("directory key upkeep failed")
            await asyncio.sleep(interval_s)
