"""The central node's authority over its federation: invitations, enrolment, revocation, trusted
anchors, and the signed directory that publishes all of it.

Every change to the registry and the directory version that publishes it commit together, so a
directory never lags the registry it was built from. The CLI (`swnode invite`, `revoke`, `trust
add`) and the running central both act through this class; the running node notices a newer
published version on its next poll.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from core import directory as dirs
from core import key_lifetimes
from core.algorithms import (
    KeyAlgorithm,
    Profile,
    SigningKey,
    as_pb,
    check_public_key,
    declarations,
    profile_of,
)
from core.anchor import anchor_fingerprint, check_anchor_fingerprint
from core.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from core.ids import Role, federation_of, validate_node_id
from core.invitation import Invitation, proof_message
from core.key_lifetimes import RotationPlan
from core.signing import (
    ENROL_DOMAIN,
    PURPOSE_SIGNING,
    PURPOSE_TOKEN,
    fingerprint,
    key_id,
    raw_public,
    verifies,
)
from identity.ca import NODE_VALIDITY, CaHistory, FederationCa, issue_certificate
from identity.directory_entries import entry as _entry
from identity.directory_entries import listed as _listed
from identity.keys import NodeKeys
from storage.database import Database
from storage.engine import Tx
from storage.membership import Member, MemberKey
from swf.v1 import directory_pb2 as pb
from swf.v1 import enrolment_pb2 as epb

__all__ = ["MAX_INVITATION_TTL_S", "Authority", "CentralSettings"]

MAX_INVITATION_TTL_S = 7 * 24 * 3600


def _endpoint(value: str, field: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgument("enrol.bad_endpoint", f"{field}: must be host:port", field=field)
    return value


# A day's overlap, a minute for the directory to reach every node first.
DEFAULT_PLAN = RotationPlan(activation_ms=60_000, overlap_ms=86_400_000)


@dataclass(frozen=True)
class CentralSettings:
    node_id: str
    peer_endpoint: str
    client_endpoint: str
    directory_validity_s: float
    # A rotation's defaults (§2.9), where the member asking gives none.
    key_plan: RotationPlan = DEFAULT_PLAN
    # `[keys] lifetime_s`: no certificate issued here outlives it (0: NODE_VALIDITY); a
    # retired CA leaves the directory once that long has passed (core.key_lifetimes.ca_prunable).
    certificate_lifetime_ms: int = 0


class Authority:
    def __init__(
        self,
        db: Database,
        settings: CentralSettings,
        keys: NodeKeys,
        clock_ms: Callable[[], int],
    ) -> None:
        if (keys.ca_key is None and keys.ca_history is None) or keys.directory_key is None:
            raise FailedPrecondition(
                "authority.not_central",
                f"{settings.node_id} is not a central node; run this at the central node",
            )
        if keys.tls_cert is None or keys.ca_cert is None:
            raise FailedPrecondition(
                "authority.not_initialised", "the central node has no certificate"
            )
        self._db = db
        self._config = settings
        self._keys = keys
        # The federation's CAs over time (§2.9); which one issues is asked at each use.
        self._cas = keys.ca_history or CaHistory(
            (FederationCa(keys.ca_cert, "ca.key", keys.ca_key),)
        )
        self._directory_key = keys.directory_key
        self._directory_next = keys.directory_next
        self._clock_ms = clock_ms
        # The federation's crypto profile, fixed when the central was created: its keys' own.
        self.profile: Profile = profile_of(keys.directory_key)

    @property
    def federation(self) -> str:
        return self._config.node_id

    # -- the federation CA (§2.9) ------------------------------------------------------------

    @property
    def ca_history(self) -> CaHistory:
        return self._cas

    def use_ca_history(self, history: CaHistory) -> None:
        """The CAs as `swnode rotate --key ca` (or the retirement of one) left them."""
        self._cas = history

    def _issuer(self, now_ms: int) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        ca = self._cas.issuing(now_ms)
        if ca.key is None:
            raise FailedPrecondition(
                "authority.no_ca_key", f"keys/{ca.key_file}: the key of the CA in use is missing"
            )
        return ca.key, ca.certificate

    # -- the directory -----------------------------------------------------------------------

    async def _build_txn(self, tx: Tx, version: int, now_ms: int) -> pb.Directory:
        members = await self._db.membership.members(tx)
        stored = await self._db.membership.member_keys(tx)
        previous = await self._db.membership.previous_certificates(tx, now_ms)
        anchors = await self._db.membership.anchors(tx)
        revocations = [
            pb.Revocation(
                node_id=m.node_id,
                revoked_at_unix_ms=m.revoked_at_unix_ms or 0,
                reason=m.revoke_reason or "",
                certificate_sha256=hashlib.sha256(m.tls_certificate).digest(),
            )
            for m in members
            if m.status == "revoked"
        ]
        ca_certificate, other_cas = self._cas.listed(now_ms)
        trusted = []
        for held in anchors:
            anchor = pb.Anchor()
            anchor.ParseFromString(held.anchor)
            trusted.append(anchor)
        return pb.Directory(
            federation=self.federation,
            version=version,
            issued_at_unix_ms=now_ms,
            expires_at_unix_ms=now_ms + int(self._config.directory_validity_s * 1000),
            nodes=[_entry(m, self.profile.key_algorithm, stored, previous) for m in members],
            revocations=revocations,
            trusted_federations=trusted,
            ca_certificate=ca_certificate,
            directory_key=raw_public(self._directory_key),
            next_directory_key=raw_public(self._directory_next) if self._directory_next else b"",
            other_ca_certificates=other_cas,
            **declarations(self.profile),
        )

    def announce_directory_key(self, key: SigningKey) -> None:
        """Announce `key` as the next directory key in every directory published from now on,
        still signed by the current one (§2.9)."""
        self._directory_next = key

    def use_directory_key(self, key: SigningKey) -> None:
        """Sign directories with `key` from now on (the one announced before)."""
        self._directory_key = key
        self._directory_next = None

    @property
    def announced_directory_key(self) -> SigningKey | None:
        return self._directory_next

    async def publish_txn(self, tx: Tx) -> pb.SignedDirectory:
        """Sign and store a new directory version built from the registry as `tx` sees it."""
        now_ms = self._clock_ms()
        version = await self._db.directories.next_version_txn(tx)
        directory = await self._build_txn(tx, version, now_ms)
        signed = dirs.sign_directory(directory, self._directory_key)
        await self._db.directories.publish_txn(
            tx,
            self.federation,
            version,
            signed.SerializeToString(),
            now_ms,
            directory.expires_at_unix_ms,
        )
        return signed

    async def publish(self) -> pb.SignedDirectory:
        async with self._db.transaction() as tx:
            return await self.publish_txn(tx)

    async def latest(self) -> tuple[pb.SignedDirectory, pb.Directory] | None:
        raw = await self._db.directories.latest_published()
        if raw is None:
            return None
        signed = pb.SignedDirectory.FromString(raw)
        return signed, pb.Directory.FromString(signed.directory)

    async def refresh_if_due(self) -> bool:
        """Re-sign when half the validity has passed or nothing was ever published."""
        latest = await self.latest()
        if latest is not None and not dirs.needs_refresh(latest[1], self._clock_ms()):
            return False
        await self.publish()
        return True

    async def bundle(self) -> pb.DirectoryBundle:
        latest = await self.latest()
        held = await self._db.directories.held()
        foreign = [
            pb.SignedDirectory.FromString(h.signed)
            for fed, h in sorted(held.items())
            if fed != self.federation
        ]
        return pb.DirectoryBundle(own=latest[0] if latest else None, foreign=foreign)

    # -- membership --------------------------------------------------------------------------

    async def register_self(self) -> None:
        """The central node is the first member of its own federation."""
        assert self._keys.tls_cert is not None
        member = Member(
            node_id=self._config.node_id,
            role="central",
            status="active",
            peer_endpoint=self._config.peer_endpoint,
            client_endpoint=self._config.client_endpoint,
            tls_certificate=self._keys.tls_cert.public_bytes(Encoding.DER),
            signing_key=raw_public(self._keys.signing_key),
            token_key=raw_public(self._keys.token_key),
            document_types=(),
            enrolled_at_unix_ms=self._clock_ms(),
            revoked_at_unix_ms=None,
            revoke_reason=None,
        )
        async with self._db.transaction() as tx:
            await self._db.membership.put_member_txn(tx, member)
            await self.publish_txn(tx)

    async def invite(self, node_id: str, ttl_s: float) -> Invitation:
        validate_node_id(node_id, Role.PROVINCE, field="id")
        if federation_of(node_id) != self.federation:
            raise InvalidArgument(
                "invite.wrong_federation",
                f"id: {node_id} is not a subdivision of {self.federation}",
                field="id",
            )
        if not 0 < ttl_s <= MAX_INVITATION_TTL_S:
            raise InvalidArgument(
                "invite.bad_ttl", "ttl: must be more than 0 and at most 7 days", field="ttl"
            )
        assert self._keys.tls_cert is not None
        invitation = Invitation(
            node_id=node_id,
            secret=secrets.token_bytes(32),
            pin=fingerprint(self._keys.tls_cert.public_bytes(Encoding.DER)),
        )
        now_ms = self._clock_ms()
        await self._db.membership.add_invitation(
            invitation.secret_sha256, node_id, now_ms, now_ms + int(ttl_s * 1000)
        )
        return invitation

    async def enrol(self, request: epb.EnrolRequest) -> epb.EnrolResponse:
        # 1. The invitation is well formed and was made for the node that presents it.
        invitation = Invitation.parse(request.invitation)
        if request.node_id != invitation.node_id:
            raise PermissionDenied(
                "invitation.wrong_node",
                f"token: this invitation is for {invitation.node_id}, not for {request.node_id}",
                field="token",
            )
        # 2. The node proves it holds each key, bound to this invitation.
        proof = proof_message(request.node_id, invitation.secret_sha256)
        try:
            csr = x509.load_der_x509_csr(request.csr)
        except ValueError as exc:
            raise InvalidArgument(
                "enrol.bad_csr", "csr: not a DER PKCS#10 request", field="csr"
            ) from exc
        for name, key, signature, declared in (
            (
                "signing_key",
                request.signing_key,
                request.signing_key_proof,
                request.signing_key_algorithm,
            ),
            ("token_key", request.token_key, request.token_key_proof, request.token_key_algorithm),
        ):
            # 2a. Of the federation's profile (unset is v1's Ed25519), and of its form.
            wanted = self.profile.key_algorithm
            given = declared or pb.KEY_ALGORITHM_ED25519
            if given != as_pb(wanted):
                shown = KeyAlgorithm(given).name if given in (1, 2) else str(given)
                raise InvalidArgument(
                    "key.algorithm_mismatch",
                    f"{name}_algorithm: federation {self.federation} runs the "
                    f"{self.profile.name} profile; its keys are {wanted.name}, not {shown}; "
                    f"initialise the node with --crypto {self.profile.name}",
                    field=f"{name}_algorithm",
                )
            if wanted is not KeyAlgorithm.ED25519:
                check_public_key(wanted, key, field=name)
            if not verifies(key, signature, ENROL_DOMAIN, proof, algorithm=wanted):
                raise PermissionDenied(
                    "enrol.bad_proof",
                    f"{name}: the proof of possession does not verify for this invitation",
                    field=name,
                )
        peer_endpoint = _endpoint(request.peer_endpoint, "peer_endpoint")
        client_endpoint = _endpoint(request.client_endpoint, "client_endpoint")
        now_ms = self._clock_ms()
        ca_key, ca_cert = self._issuer(now_ms)
        cert = issue_certificate(
            ca_key=ca_key,
            ca_cert=ca_cert,
            csr=csr,
            node_id=request.node_id,
            now_ms=now_ms,
            ends_by_ms=self._ends_by(now_ms),
        )
        member = Member(
            node_id=request.node_id,
            role="province",
            status="active",
            peer_endpoint=peer_endpoint,
            client_endpoint=client_endpoint,
            tls_certificate=cert.public_bytes(Encoding.DER),
            signing_key=request.signing_key,
            token_key=request.token_key,
            document_types=(),
            enrolled_at_unix_ms=now_ms,
            revoked_at_unix_ms=None,
            revoke_reason=None,
        )
        # 3. Spend the invitation, record the member and publish, all or nothing.
        async with self._db.transaction() as tx:
            await self._db.membership.use_invitation_txn(
                tx, invitation.secret_sha256, request.node_id, now_ms
            )
            await self._db.membership.put_member_txn(tx, member)
            await self._relist_txn(tx, member, now_ms)
            await self.publish_txn(tx)
        return epb.EnrolResponse(
            tls_certificate=cert.public_bytes(Encoding.DER),
            ca_certificate=ca_cert.public_bytes(Encoding.DER),
            directory=await self.bundle(),
            central_peer_endpoint=self._config.peer_endpoint,
        )

    async def revoke(self, node_id: str, reason: str) -> int:
        """Revoke a member; return the directory version that publishes it."""
        validate_node_id(node_id, field="id")
        async with self._db.transaction() as tx:
            await self._db.membership.revoke_member_txn(tx, node_id, reason, self._clock_ms())
            signed = await self.publish_txn(tx)
        return pb.Directory.FromString(signed.directory).version

    # -- key rotation (PROTOCOL.md §2.9) ----------------------------------------------------

    async def rotate_key(
        self,
        node_id: str,
        purpose: str,
        public_key: bytes,
        *,
        plan: RotationPlan | None = None,
        retire_now: bool = False,
    ) -> tuple[pb.PublicKey, int, int]:
        """List `public_key` as `node_id`'s new key of `purpose` beside its old ones, and publish;
        return the new key as listed, when the old ones retire, and the directory version."""
        algorithm = self.profile.key_algorithm
        check_public_key(algorithm, public_key, field="public_key")
        new = pb.PublicKey(
            key_id=key_id(node_id, purpose, public_key, algorithm),
            algorithm=as_pb(algorithm),
            public_key=public_key,
        )
        async with self._db.transaction() as tx:
            member = next(
                (m for m in await self._db.membership.members(tx) if m.node_id == node_id), None
            )
            if member is None or member.status != "active":
                raise NotFound(
                    "member.unknown", f"{node_id} is not an active member of {self.federation}"
                )
            stored = (await self._db.membership.member_keys(tx)).get((node_id, purpose))
            keys = key_lifetimes.rotate(
                _listed(member, purpose, stored, algorithm),
                new,
                now_ms=self._clock_ms(),
                plan=plan or self._config.key_plan,
                retire_now=retire_now,
            )
            await self._put_keys_txn(tx, node_id, purpose, keys)
            signed = await self.publish_txn(tx)
        version = pb.Directory.FromString(signed.directory).version
        return keys[-1], keys[-2].retired_at_unix_ms, version

    async def _put_keys_txn(
        self, tx: Tx, node_id: str, purpose: str, keys: list[pb.PublicKey]
    ) -> None:
        await self._db.membership.put_member_keys_txn(
            tx,
            node_id,
            purpose,
            [
                MemberKey(
                    k.key_id,
                    k.public_key,
                    k.not_before_unix_ms,
                    k.not_after_unix_ms,
                    k.retired_at_unix_ms,
                )
                for k in keys
            ],
        )

    async def _relist_txn(self, tx: Tx, member: Member, now_ms: int) -> None:
        """A node enrolled again: the keys its earlier enrolment rotated are retired now, the new
        ones listed after them, and its earlier TLS certificates no longer listed."""
        stored = await self._db.membership.member_keys(tx)
        algorithm = self.profile.key_algorithm
        for purpose in (PURPOSE_SIGNING, PURPOSE_TOKEN):
            rows = stored.get((member.node_id, purpose))
            if not rows:
                continue
            new = _listed(member, purpose, None, algorithm)[0]
            listed = _listed(member, purpose, rows, algorithm)
            if any(k.key_id == new.key_id for k in listed):
                continue
            keys = key_lifetimes.rotate(
                listed, new, now_ms=now_ms, plan=RotationPlan(0, 0), retire_now=True
            )
            await self._put_keys_txn(tx, member.node_id, purpose, keys)
        await self._db.membership.forget_previous_certificates_txn(tx, member.node_id)

    async def renew_certificate(
        self,
        node_id: str,
        csr_der: bytes,
        *,
        plan: RotationPlan | None = None,
        retire_now: bool = False,
    ) -> tuple[bytes, int, int]:
        """A new TLS certificate for `node_id` from its CSR (its signature is the proof of
        possession, §1.4), valid from the end of the activation delay; the old one stays listed
        until the overlap ends (not at all with `retire_now`). Returns the certificate (DER),
        until when the old one is listed, and the directory version."""
        try:
            csr = x509.load_der_x509_csr(csr_der)
        except ValueError as exc:
            raise InvalidArgument(
                "enrol.bad_csr", "csr: not a DER PKCS#10 request", field="csr"
            ) from exc
        plan = plan or self._config.key_plan
        now_ms = self._clock_ms()
        starts = now_ms if retire_now else now_ms + plan.activation_ms
        until = now_ms if retire_now else starts + plan.overlap_ms
        ends_by = self._ends_by(now_ms)
        if ends_by and starts >= ends_by:
            raise InvalidArgument(
                "rotate.bad_plan",
                f"activation_ms: {plan.activation_ms} ms starts the certificate after the "
                f"central's certificate lifetime ({self._config.certificate_lifetime_ms} ms) "
                "ends it; ask for a shorter activation",
                field="activation_ms",
            )
        ca_key, ca_cert = self._issuer(now_ms)
        cert = issue_certificate(
            ca_key=ca_key,
            ca_cert=ca_cert,
            csr=csr,
            node_id=node_id,
            now_ms=now_ms,
            not_before_ms=starts,
            validity_ms=plan.lifetime_ms,
            ends_by_ms=ends_by,
        )
        der = cert.public_bytes(Encoding.DER)
        async with self._db.transaction() as tx:
            member = next(
                (m for m in await self._db.membership.members(tx) if m.node_id == node_id), None
            )
            if member is None or member.status != "active":
                raise NotFound(
                    "member.unknown", f"{node_id} is not an active member of {self.federation}"
                )
            await self._db.membership.replace_certificate_txn(tx, node_id, der, until)
            signed = await self.publish_txn(tx)
        return der, until, pb.Directory.FromString(signed.directory).version

    def _ends_by(self, now_ms: int) -> int:
        """The latest end of a certificate issued now (0: only NODE_VALIDITY bounds it)."""
        cap = self._config.certificate_lifetime_ms
        return key_lifetimes.latest_certificate_end(now_ms, cap, 0) if cap else 0

    def ca_prunable(self, ca: FederationCa, now_ms: int) -> bool:
        """Whether every certificate the retired CA `ca` could have issued has expired."""
        end = int(ca.certificate.not_valid_after_utc.timestamp() * 1000)
        validity = int(NODE_VALIDITY.total_seconds() * 1000)
        cap = self._config.certificate_lifetime_ms
        return key_lifetimes.ca_prunable(ca.retired_at_ms, end, cap, validity, now_ms)

    @property
    def key_plan(self) -> RotationPlan:
        """A rotation's defaults, where the member asking gives none."""
        return self._config.key_plan

    async def note_member_version(self, version: int) -> bool:
        """A member holds `version`: if that is above anything published here (a central
        restored from an older backup), publish above it at once; True if it did."""
        if not await self._db.directories.note_seen(version):
            return False
        await self.publish()
        return True

    # -- foreign federations -----------------------------------------------------------------

    def own_anchor(self) -> pb.Anchor:
        return pb.Anchor(
            federation=self.federation,
            ca_certificate=self._cas.issuing(self._clock_ms()).der,
            directory_key=raw_public(self._directory_key),
            endpoint=self._config.peer_endpoint,
            **declarations(self.profile),
        )

    async def trust_add(self, anchor: pb.Anchor, expected_fingerprint: str) -> int:
        check_anchor_fingerprint(anchor, expected_fingerprint)
        if anchor.federation == self.federation:
            raise InvalidArgument(
                "anchor.own", "anchor: this is this federation's own anchor", field="anchor"
            )
        async with self._db.transaction() as tx:
            await self._db.membership.put_anchor_txn(
                tx,
                anchor.federation,
                anchor.SerializeToString(deterministic=True),
                anchor_fingerprint(anchor),
                self._clock_ms(),
            )
            signed = await self.publish_txn(tx)
        return pb.Directory.FromString(signed.directory).version

    async def follow_anchor_key(
        self, federation: str, directory_key: bytes, ca_certificate: bytes = b""
    ) -> int:
        """A trusted federation's directory is signed by the next key it announced, or names
        the next CA it announced as its CA: its anchor here follows, and this federation's
        directory publishes it (§2.9)."""
        async with self._db.transaction() as tx:
            held = next(
                (a for a in await self._db.membership.anchors(tx) if a.federation == federation),
                None,
            )
            if held is None:
                raise InvalidArgument(
                    "anchor.unknown", f"federation: {federation} is not trusted", field="federation"
                )
            anchor = pb.Anchor.FromString(held.anchor)
            anchor.directory_key = directory_key
            anchor.ca_certificate = ca_certificate or anchor.ca_certificate
            await self._db.membership.replace_anchor_txn(
                tx,
                federation,
                anchor.SerializeToString(deterministic=True),
                anchor_fingerprint(anchor),
            )
            signed = await self.publish_txn(tx)
        return pb.Directory.FromString(signed.directory).version

    async def trust_remove(self, federation: str) -> int:
        async with self._db.transaction() as tx:
            if not await self._db.membership.remove_anchor_txn(tx, federation):
                raise InvalidArgument(
                    "anchor.unknown", f"federation: {federation} is not trusted", field="federation"
                )
            signed = await self.publish_txn(tx)
        await self._db.directories.drop_held(federation)
        return pb.Directory.FromString(signed.directory).version
