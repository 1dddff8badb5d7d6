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
from identity.ca import CaHistory
from identity.ca_rotation import (
    client_bundle,
    forget_retired_keys,
    prune_cas,
    save_client_bundle,
)
from identity.keys import (
    HISTORY,
    KEY_DIR,
    ROTATING,
    load_ca_bundle,
    load_history,
    load_signing_key,
    load_tls,
    next_key_path,
    next_tls_paths,
)
from swf.v1 import directory_pb2 as pb

__all__ = ["CaBundle", "CaWatch", "DirectoryKeyWatch", "KeyWatch", "TlsKey"]

log = logging.getLogger("swnode.keys")


@dataclass
class _Held:
    key_id: str
    stamp: tuple[int, int]  # (inode, mtime_ns) of the file it was read from


# A TLS identity taken into use: key, certificate, and the CA certificates of keys/ca.crt.
TlsKey = ec.EllipticCurvePrivateKey
CaBundle = tuple[x509.Certificate, ...]
OnTls = Callable[[TlsKey, x509.Certificate, CaBundle], None]
_Stamps = tuple[tuple[int, int] | None, tuple[int, int] | None]


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
        on_tls: OnTls | None = None,
    ) -> None:
        self._node_id = node_id
        self._dir = node_dir
        self._trust = trust
        self._clock_ms = clock_ms
        self._on_key = on_key
        self._on_tls = on_tls
        self._tls_stamp: _Stamps | None = self._tls_stamps()
        self._ca_bundle: list[bytes] | None = None  # keys/ca.crt as last written or found
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
        self._ca_tick()
        if self._on_tls is not None:
            self._tls_tick(self._on_tls)

    def _ca_tick(self) -> None:
        """Keep keys/ca.crt as the directory lists the federation's CAs (a CA rotation,
        §2.9): clients trust each, and the chain presented is chosen from them."""
        own = self._trust().own
        if own is None or not own.ca_certificate:
            return
        wanted = client_bundle(own, self._clock_ms())
        if wanted == self._ca_bundle:
            return  # as written, or found, before: nothing to read
        self._ca_bundle = wanted
        if save_client_bundle(self._dir / KEY_DIR, wanted):
            log.info("keys/ca.crt holds the CAs of directory v%d", own.version)
            self._tls_stamp = None  # the chain presented is chosen anew

    @staticmethod
    def _file_stamp(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _tls_stamps(self) -> _Stamps:
        """Of keys/tls.crt and keys/ca.crt: either changing (a renewal, a CA rotation, another
        replica's or the operator's hand) takes the identity anew."""
        keys = self._dir / KEY_DIR
        return self._file_stamp(keys / "tls.crt"), self._file_stamp(keys / "ca.crt")

    def _tls_tick(self, on_tls: OnTls) -> None:
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
        stamp = self._tls_stamps()
        if stamp[0] is not None and stamp != self._tls_stamp:
            key, cert = load_tls(self._dir)
            if key.public_key() != cert.public_key():
                return  # half moved: the key follows within a tick
            self._tls_stamp = stamp
            log.info("TLS certificate in use: serial %x", cert.serial_number)
            on_tls(key, cert, load_ca_bundle(self._dir))

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
    announcing directory (PROTOCOL.md §2.9). It keeps the CAs in step too (`CaWatch`)."""

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
        # The CA's upkeep is the central's too, on the same beat.
        self._ca = CaWatch(node_dir, authority, clock_ms)

    async def tick(self) -> None:
        try:
            await self._ca.tick()
        except Exception:
            log.exception("CA upkeep failed")
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


def _state(history: CaHistory) -> tuple[tuple[bytes, int, int, bool], ...]:
    return tuple((c.der, c.active_from_ms, c.retired_at_ms, c.key is None) for c in history.cas)


class CaWatch:
    """A central rotating its CA (`swnode rotate --key ca`, §2.9): takes up the CA history the
    command wrote, publishes a directory whenever what it lists of the CAs changes (the switch
    to the new CA at the end of the activation delay above all), deletes the private key of a
    CA once it is retired, and drops the CA once every certificate it issued has expired."""

    def __init__(self, node_dir: Path, authority: Authority, clock_ms: Callable[[], int]) -> None:
        self._keys = node_dir / KEY_DIR
        self._authority = authority
        self._clock_ms = clock_ms
        self._listed: tuple[bytes, list[pb.CaCertificate]] | None = None
        self._stamp: tuple[int, int] | None = None  # of ca.history.json, when last read

    async def tick(self) -> None:
        # A central that never rotated its CA has no history: nothing to read, idle.
        stamp = KeyWatch._file_stamp(self._keys / HISTORY)
        if stamp is None:
            return
        now = self._clock_ms()
        history = self._authority.ca_history
        if stamp != self._stamp:
            loaded = load_history(self._keys)
            if loaded is None:
                return
            history, self._stamp = loaded, stamp
            if _state(history) != _state(self._authority.ca_history):
                self._authority.use_ca_history(history)
        if any(c.key is not None and 0 < c.retired_at_ms <= now for c in history.cas):
            self._authority.use_ca_history(forget_retired_keys(self._keys, history, now))
            log.warning("the private key of a retired federation CA was deleted")
        history = self._authority.ca_history
        pruned = prune_cas(self._keys, history, lambda ca: self._authority.ca_prunable(ca, now))
        if pruned is not history:
            self._authority.use_ca_history(pruned)
            self._stamp = KeyWatch._file_stamp(self._keys / HISTORY)
            log.info("a retired federation CA whose certificates have all expired is dropped")
        listed = self._authority.ca_history.listed(now)
        if self._listed is None:
            latest = await self._authority.latest()
            if latest is not None:
                held = latest[1]
                self._listed = (held.ca_certificate, list(held.other_ca_certificates))
        if listed == self._listed:
            return
        signed = await self._authority.publish()
        self._listed = listed
        version = pb.Directory.FromString(signed.directory).version
        log.info("directory v%d lists the federation's CAs anew", version)
