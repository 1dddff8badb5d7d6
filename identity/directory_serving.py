"""What a central answers `GetDirectory` with (docs/PROTOCOL.md §2.7), made once for each trust
view rather than at every call.

Every member polls its central; at 31 provinces that is several calls a second, and each used to
read the published directory and the held foreign ones from storage, parse them and serialize and
digest the bundle again. The bundle changes only when the directories the central holds do, and
its trust view is rebuilt exactly then (federation/directory_sync.py), so the tagged bundles are
kept until the trust view is another. A directory published by another process (an operator
command, another replica) is therefore served once this central's next poll has loaded it — then
its members are told at once (§2.10).
"""

from __future__ import annotations

from collections.abc import Callable

from core import directory_bundles
from core.trust import TrustView
from identity.authority import Authority
from swf.v1 import directory_pb2 as pb

__all__ = ["DirectoryServing"]


class DirectoryServing:
    def __init__(self, authority: Authority, trust: Callable[[], TrustView]) -> None:
        self._authority = authority
        self._trust = trust
        self._made_for: TrustView | None = None
        self._members = pb.DirectoryBundle()
        self._foreign = pb.DirectoryBundle()

    async def answer(self, *, member: bool, have_digest: bytes) -> pb.DirectoryBundle:
        """The answer to a member of the federation (`member`), or to a trusting foreign
        central (this federation's directory only), that holds `have_digest`."""
        trust = self._trust()
        if trust is not self._made_for:
            await self.refresh(trust)
        tagged = self._members if member else self._foreign
        return directory_bundles.answer(tagged, have_digest)

    async def refresh(self, trust: TrustView | None = None) -> None:
        """Make the bundles again from storage (a new trust view, or a version just published)."""
        bundle = await self._authority.bundle()
        self._members = directory_bundles.tag(bundle)
        del bundle.foreign[:]  # a foreign central gets this federation's directory only
        self._foreign = directory_bundles.tag(bundle)
        self._made_for = trust or self._trust()
