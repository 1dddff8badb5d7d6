"""Federation membership, as the central node keeps it: members, invitations and trusted
anchors of other federations."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import AlreadyExists, NotFound, PermissionDenied
from storage.columns import join_names, split_names
from storage.engine import Engine, Row, Tx

__all__ = ["Member", "MemberKey", "MembershipStore", "TrustedAnchor"]


@dataclass(frozen=True)
class Member:
    node_id: str
    role: str
    status: str
    peer_endpoint: str
    client_endpoint: str
    tls_certificate: bytes
    signing_key: bytes
    token_key: bytes
    document_types: tuple[str, ...]
    enrolled_at_unix_ms: int
    revoked_at_unix_ms: int | None
    revoke_reason: str | None

    @classmethod
    def from_row(cls, row: Row) -> Member:
        return cls(
            node_id=row["node_id"],
            role=row["role"],
            status=row["status"],
            peer_endpoint=row["peer_endpoint"],
            client_endpoint=row["client_endpoint"],
            tls_certificate=bytes(row["tls_certificate"]),
            signing_key=bytes(row["signing_key"]),
            token_key=bytes(row["token_key"]),
            document_types=split_names(row["document_types"]),
            enrolled_at_unix_ms=row["enrolled_at_unix_ms"],
            revoked_at_unix_ms=row["revoked_at_unix_ms"],
            revoke_reason=row["revoke_reason"],
        )


@dataclass(frozen=True)
class MemberKey:
    """One key a member lists for a purpose ("sig" or "tok"), with its lifetime (0: unbounded)
    and retirement (0: not retired)."""

    key_id: str
    public_key: bytes
    not_before_unix_ms: int = 0
    not_after_unix_ms: int = 0
    retired_at_unix_ms: int = 0


@dataclass(frozen=True)
class TrustedAnchor:
    federation: str
    anchor: bytes
    fingerprint: str
    added_at_unix_ms: int


class MembershipStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    # -- members -----------------------------------------------------------------------------

    async def members(self, tx: Tx | None = None) -> list[Member]:
        """Every member, in node id order (within `tx` when given)."""
        rows = await (tx or self._db).fetch("SELECT * FROM members ORDER BY node_id")
        return [Member.from_row(r) for r in rows]

    async def member(self, node_id: str) -> Member | None:
        row = await self._db.fetchrow("SELECT * FROM members WHERE node_id = $1", node_id)
        return Member.from_row(row) if row else None

    async def put_member_txn(self, tx: Tx, member: Member) -> None:
        await tx.execute(
            "INSERT INTO members (node_id, role, status, peer_endpoint, client_endpoint,"
            " tls_certificate, signing_key, token_key, document_types, enrolled_at_unix_ms)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " ON CONFLICT (node_id) DO UPDATE SET role = excluded.role, status = excluded.status,"
            " peer_endpoint = excluded.peer_endpoint, client_endpoint = excluded.client_endpoint,"
            " tls_certificate = excluded.tls_certificate, signing_key = excluded.signing_key,"
            " token_key = excluded.token_key, document_types = excluded.document_types,"
            " enrolled_at_unix_ms = excluded.enrolled_at_unix_ms,"
            " revoked_at_unix_ms = NULL, revoke_reason = NULL",
            member.node_id,
            member.role,
            member.status,
            member.peer_endpoint,
            member.client_endpoint,
            member.tls_certificate,
            member.signing_key,
            member.token_key,
            join_names(member.document_types),
            member.enrolled_at_unix_ms,
        )

    async def revoke_member_txn(self, tx: Tx, node_id: str, reason: str, now_ms: int) -> None:
        row = await tx.fetchrow("SELECT role, status FROM members WHERE node_id = $1", node_id)
        if row is None:
            raise NotFound("member.unknown", f"id: {node_id} is not a member of this federation")
        if row["role"] == "central":
            raise PermissionDenied(
                "member.central", "id: the central node cannot revoke itself", field="id"
            )
        await tx.execute(
            "UPDATE members SET status = 'revoked', revoked_at_unix_ms = $2, revoke_reason = $3"
            " WHERE node_id = $1",
            node_id,
            now_ms,
            reason,
        )

    async def member_keys(self, tx: Tx | None = None) -> dict[tuple[str, str], list[MemberKey]]:
        """The keys of every member that rotated one, by (node id, purpose), in listing order."""
        rows = await (tx or self._db).fetch(
            "SELECT * FROM member_keys ORDER BY node_id, purpose, not_before_unix_ms, key_id"
        )
        found: dict[tuple[str, str], list[MemberKey]] = {}
        for r in rows:
            found.setdefault((r["node_id"], r["purpose"]), []).append(
                MemberKey(
                    r["key_id"],
                    bytes(r["public_key"]),
                    r["not_before_unix_ms"],
                    r["not_after_unix_ms"],
                    r["retired_at_unix_ms"],
                )
            )
        return found

    async def put_member_keys_txn(
        self, tx: Tx, node_id: str, purpose: str, keys: list[MemberKey]
    ) -> None:
        """Record `keys` as the member's keys of `purpose` (rows are updated, never removed)."""
        for k in keys:
            await tx.execute(
                "INSERT INTO member_keys (node_id, purpose, key_id, public_key,"
                " not_before_unix_ms, not_after_unix_ms, retired_at_unix_ms)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (node_id, key_id) DO UPDATE"
                " SET not_before_unix_ms = excluded.not_before_unix_ms,"
                " not_after_unix_ms = excluded.not_after_unix_ms,"
                " retired_at_unix_ms = excluded.retired_at_unix_ms",
                node_id,
                purpose,
                k.key_id,
                k.public_key,
                k.not_before_unix_ms,
                k.not_after_unix_ms,
                k.retired_at_unix_ms,
            )

    async def previous_certificates(self, tx: Tx, now_ms: int) -> dict[str, list[bytes]]:
        """Each member's earlier TLS certificates whose overlap has not ended at `now_ms`."""
        rows = await tx.fetch(
            "SELECT node_id, certificate FROM member_certificates"
            " WHERE retired_at_unix_ms > $1 ORDER BY node_id, retired_at_unix_ms",
            now_ms,
        )
        found: dict[str, list[bytes]] = {}
        for r in rows:
            found.setdefault(r["node_id"], []).append(bytes(r["certificate"]))
        return found

    async def forget_previous_certificates_txn(self, tx: Tx, node_id: str) -> None:
        await tx.execute("DELETE FROM member_certificates WHERE node_id = $1", node_id)

    async def replace_certificate_txn(
        self, tx: Tx, node_id: str, certificate: bytes, previous_until_ms: int
    ) -> None:
        """`certificate` becomes the member's; the one it replaces stays listed until
        `previous_until_ms` (not at all if that is not in the future of the caller's clock)."""
        old = await tx.fetchval("SELECT tls_certificate FROM members WHERE node_id = $1", node_id)
        if old is None:
            raise NotFound("member.unknown", f"{node_id} is not a member of this federation")
        await tx.execute(
            "INSERT INTO member_certificates (node_id, certificate, retired_at_unix_ms)"
            " VALUES ($1, $2, $3) ON CONFLICT (node_id, retired_at_unix_ms) DO NOTHING",
            node_id,
            bytes(old),
            previous_until_ms,
        )
        await tx.execute(
            "UPDATE members SET tls_certificate = $2 WHERE node_id = $1", node_id, certificate
        )

    # -- invitations -------------------------------------------------------------------------

    async def add_invitation(
        self, secret_sha256: bytes, node_id: str, now_ms: int, expires_at_ms: int
    ) -> None:
        await self._db.execute(
            "INSERT INTO invitations (secret_sha256, node_id, created_at_unix_ms,"
            " expires_at_unix_ms) VALUES ($1, $2, $3, $4)",
            secret_sha256,
            node_id,
            now_ms,
            expires_at_ms,
        )

    async def use_invitation_txn(
        self, tx: Tx, secret_sha256: bytes, node_id: str, now_ms: int
    ) -> None:
        """Spend an invitation for `node_id`, or refuse: unknown, used, expired or for another
        node. The row is updated in the caller's transaction, so two concurrent enrolments with
        one token cannot both succeed."""
        row = await tx.fetchrow(
            "SELECT node_id, expires_at_unix_ms, used_at_unix_ms FROM invitations"
            " WHERE secret_sha256 = $1",
            secret_sha256,
        )
        if row is None:
            raise PermissionDenied(
                "invitation.unknown",
                "token: this invitation was not issued by this central node",
                field="token",
            )
        if row["node_id"] != node_id:
            raise PermissionDenied(
                "invitation.wrong_node",
                f"token: this invitation is for {row['node_id']}, not for {node_id}",
                field="token",
            )
        if row["used_at_unix_ms"] is not None:
            raise PermissionDenied(
                "invitation.used",
                "token: this invitation was already used; ask the central operator for a new one",
                field="token",
            )
        if now_ms >= row["expires_at_unix_ms"]:
            raise PermissionDenied(
                "invitation.expired",
                "token: this invitation has expired; ask the central operator for a new one",
                field="token",
            )
        changed = await tx.execute(
            "UPDATE invitations SET used_at_unix_ms = $2"
            " WHERE secret_sha256 = $1 AND used_at_unix_ms IS NULL",
            secret_sha256,
            now_ms,
        )
        if changed != 1:
            raise PermissionDenied(
                "invitation.used", "token: this invitation was already used", field="token"
            )

    # -- anchors -----------------------------------------------------------------------------

    async def anchors(self, tx: Tx | None = None) -> list[TrustedAnchor]:
        """Every trusted foreign anchor, in federation order (within `tx` when given)."""
        rows = await (tx or self._db).fetch("SELECT * FROM trusted_anchors ORDER BY federation")
        return [
            TrustedAnchor(
                r["federation"], bytes(r["anchor"]), r["fingerprint"], r["added_at_unix_ms"]
            )
            for r in rows
        ]

    async def put_anchor_txn(
        self, tx: Tx, federation: str, anchor: bytes, fingerprint: str, now_ms: int
    ) -> None:
        existing = await tx.fetchval(
            "SELECT fingerprint FROM trusted_anchors WHERE federation = $1", federation
        )
        if existing is not None and existing != fingerprint:
            raise AlreadyExists(
                "anchor.conflict",
                f"anchor: {federation} is already trusted with fingerprint {existing}; "
                "a different anchor for it needs `swnode trust remove` first",
                field="anchor",
            )
        await tx.execute(
            "INSERT INTO trusted_anchors (federation, anchor, fingerprint, added_at_unix_ms)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (federation) DO UPDATE"
            " SET anchor = excluded.anchor",
            federation,
            anchor,
            fingerprint,
            now_ms,
        )

    async def replace_anchor_txn(
        self, tx: Tx, federation: str, anchor: bytes, fingerprint: str
    ) -> None:
        """A trusted federation's anchor after its directory key rotation (announced by the key
        trusted before, so no fingerprint check by an operator is needed)."""
        await tx.execute(
            "UPDATE trusted_anchors SET anchor = $2, fingerprint = $3 WHERE federation = $1",
            federation,
            anchor,
            fingerprint,
        )

    async def remove_anchor_txn(self, tx: Tx, federation: str) -> bool:
        return await tx.execute("DELETE FROM trusted_anchors WHERE federation = $1", federation) > 0
