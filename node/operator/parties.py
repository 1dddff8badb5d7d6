"""Operator actions on parties: add an agency or a logistics operator with its first user, and
suspend or resume a party (its tokens are refused across the federation)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from core.parties import validate_kind
from core.signing import PURPOSE_TOKEN, key_id_of
from federation.channels import PeerChannels
from federation.registry_client import RegistryClient
from identity.accounts import Accounts
from identity.registration import add_party as add_party_to
from identity.revocations import revocation_drafts
from node.operator.admin import now_ms
from node.operator.messaging import node_context
from swf.v1 import identity_pb2 as ipb

__all__ = ["accounts_at", "add_party", "suspend"]


@asynccontextmanager
async def accounts_at(node_dir: Path) -> AsyncIterator[Accounts]:
    async with node_context(node_dir) as ctx:
        channels = PeerChannels(
            ctx.keys.tls_identity(), max_message_bytes=ctx.config.max_message_bytes
        )
        outbox = ctx.outbox()

        async def broadcast(revocation: ipb.TokenRevocation) -> None:
            drafts = revocation_drafts(ctx.trust, ctx.config.id, revocation)
            if drafts:
                await outbox.submit(drafts)  # the running node sends them

        try:
            yield Accounts(
                node_id=ctx.config.id,
                db=ctx.db,
                token_key=ctx.keys.token_key,
                token_key_id=key_id_of(ctx.config.id, PURPOSE_TOKEN, ctx.keys.token_key),
                trust=lambda: ctx.trust,
                clock_ms=now_ms,
                registry=RegistryClient(ctx.config.id, channels, lambda: ctx.trust),
                broadcast=broadcast,
            )
        finally:
            await channels.close()


async def add_party(
    node_dir: Path, party_id: str, kind: str, name: str, roles: tuple[str, ...], user: str
) -> tuple[str, str]:
    """Create the party; return its first user's name and generated password."""
    async with node_context(node_dir) as ctx:
        password = await add_party_to(
            ctx.db, party_id, validate_kind(kind), name, roles, user, now_ms()
        )
    return user, password


async def suspend(node_dir: Path, party_id: str, *, resume: bool = False) -> None:
    async with accounts_at(node_dir) as accounts:
        await accounts.registrations.suspend(party_id, resume=resume)
