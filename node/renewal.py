"""Automatic renewal (OPERATIONS.md section 11): once a certificate or key in use passes
`[keys] renew_fraction` of its lifetime (shortened to `[keys] lifetime_s` when that is set), the
running node rotates it itself, exactly as `swnode rotate` would; the new one is taken into use
by node/key_rotation.py. The decision is core.key_lifetimes.renewal_due; this loop only asks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from cryptography import x509

from core.key_lifetimes import Lifetime, renewal_due
from core.signing import PURPOSE_SIGNING, PURPOSE_TOKEN, key_id_of
from core.trust import TrustView, key_identifier
from identity.keys import NodeKeys, load_tls, next_key_path, next_tls_paths
from node.config import NodeConfig

__all__ = ["Renewal"]

log = logging.getLogger("swnode.keys")


class Renewal:
    def __init__(
        self,
        *,
        config: NodeConfig,
        keys: Callable[[], NodeKeys],
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
    ) -> None:
        self._config = config
        self._keys = keys
        self._trust = trust
        self._clock_ms = clock_ms
        # The current CA of the directory last asked about: its DER and subject key identifier.
        self._ca: tuple[bytes, bytes | None] = (b"", None)

    def due(self) -> list[str]:
        """The kinds (`tls`, `signing`, `token`) to renew now: past the fraction of their
        lifetime, and not already being replaced."""
        config, keys, now = self._config, self._keys(), self._clock_ms()
        fraction, cap = config.key_renew_fraction, int(config.key_lifetime_s * 1000)
        found = []
        cert = keys.tls_cert
        if cert is not None and not any(p.exists() for p in next_tls_paths(config.dir)):
            start = int(cert.not_valid_before_utc.timestamp() * 1000)
            end = int(cert.not_valid_after_utc.timestamp() * 1000)
            if renewal_due(Lifetime(start, end), start, now, fraction, cap) or self._ca_moved(cert):
                found.append("tls")
        me = self._trust().node(config.id)
        if me is None:
            return found
        for kind, purpose, key, listed in (
            ("signing", PURPOSE_SIGNING, keys.signing_key, me.signing_keys),
            ("token", PURPOSE_TOKEN, keys.token_key, me.token_keys),
        ):
            kid = key_id_of(config.id, purpose, key)
            entry = next((k for k in listed if k.key_id == kid), None)
            if entry is None or next_key_path(config.dir, purpose).exists():
                continue
            life = Lifetime.of(entry)
            if renewal_due(life, me.enrolled_at_unix_ms, now, fraction, cap):
                found.append(kind)
        return found

    def _ca_moved(self, cert: x509.Certificate) -> bool:
        """The federation issues from another CA than `cert`'s, the certificate in use (a CA
        rotation, PROTOCOL.md §2.9): renew from it during the overlap, before the old CA
        retires. Then the file is asked too: a renewal just made may have replaced it before
        the node took it into use."""
        own = self._trust().own
        if own is None or not own.ca_certificate:
            return False
        if own.ca_certificate != self._ca[0]:
            current = x509.load_der_x509_certificate(own.ca_certificate)
            self._ca = (own.ca_certificate, key_identifier(current, x509.SubjectKeyIdentifier))

        def moved(cert: x509.Certificate) -> bool:
            issuer = key_identifier(cert, x509.AuthorityKeyIdentifier)
            return issuer is not None and issuer != self._ca[1]

        return moved(cert) and moved(load_tls(self._config.dir)[1])

    def _ca_retired(self) -> bool:
        """The certificate in use is a retired CA's (`--now`): a province presents its successor
        at once, as peers refuse it already. Not the central: its members reach it only at a
        certificate their directory lists, so it lists its new one first (PROTOCOL.md §0.6)."""
        cert = self._keys().tls_cert
        if cert is None or self._config.is_central:
            return False
        trust = self._trust()
        return trust.retired_ca_refusal(self._config.id, cert, self._clock_ms()) is not None

    async def tick(self) -> None:
        from node.operator.rotation import rotate  # the operator's command, run in-process

        for kind in self.due():
            now = kind == "tls" and self._ca_retired()
            done = await rotate(self._config.dir, kind, retire_now=now)
            log.info(
                "renewed the %s key: %s, in use from %d, the old one retires at %d",
                kind,
                done.key_id,
                done.not_before_unix_ms,
                done.old_retired_at_unix_ms,
            )

    async def run(self, interval_s: float) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("automatic renewal failed; retrying")
            await asyncio.sleep(interval_s)
