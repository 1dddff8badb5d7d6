"""The node's database: an engine, migrated, with one store per concern."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from storage.attempts import AttemptStore
from storage.audit import AuditStore
from storage.certificates import CertificateStore
from storage.declarations import DeclarationStore
from storage.directories import DirectoryStore
from storage.engine import OUTBOX_CHANNEL, REVOCATION_CHANNEL, Engine, Tx, open_engine
from storage.inbox import InboxStore
from storage.login_failures import LoginFailureStore
from storage.logistics import LogisticsStore
from storage.membership import MembershipStore
from storage.message_search import MessageSearch
from storage.migrations import migrate
from storage.national_registry import NationalRegistryStore
from storage.operators import OperatorStore
from storage.outbox import OutboxStore
from storage.parties import PartyStore
from storage.reseals import ResealStore
from storage.revocations import RevocationStore
from storage.sessions import SessionStore
from storage.sharing import SharingStore
from storage.users import UserStore
from storage.web_sessions import WebSessionStore

__all__ = ["Database"]


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.membership = MembershipStore(engine)
        self.directories = DirectoryStore(engine)
        self.outbox = OutboxStore(engine)
        self.reseals = ResealStore(engine)  # sealing again with the current key
        self.inbox = InboxStore(engine)
        self.parties = PartyStore(engine)
        self.users = UserStore(engine)
        self.sessions = SessionStore(engine)
        self.national_registry = NationalRegistryStore(engine)
        self.revocations = RevocationStore(engine)
        self.login_failures = LoginFailureStore(engine)
        self.attempts = AttemptStore(engine)
        self.declarations = DeclarationStore(engine)
        self.certificates = CertificateStore(engine)
        self.logistics = LogisticsStore(engine)
        self.sharing = SharingStore(engine)
        self.web_sessions = WebSessionStore(engine)
        # The operator console's (node/web/console/).
        self.operators = OperatorStore(engine)
        self.audit = AuditStore(engine)
        self.message_search = MessageSearch(engine)

    @classmethod
    async def open(
        cls, url: str, *, base_dir: Path, password: str | None = None, migrate_now: bool = True
    ) -> Database:
        engine = await open_engine(url, base_dir=base_dir, password=password)
        try:
            if migrate_now:
                await migrate(engine)
        except BaseException:
            await engine.close()
            raise
        return cls(engine)

    async def ping(self) -> None:
        """Raises unless the database answers a query."""
        await self.engine.ping()

    async def on_outbox_work(self, callback: Callable[[], None]) -> bool:
        """Call `callback` when another process or replica queues outbox work (PostgreSQL's
        LISTEN/NOTIFY); False on SQLite, whose other writers call the ops port's /wake."""
        return await self.engine.listen(OUTBOX_CHANNEL, callback)

    async def on_revocation(self, callback: Callable[[], None]) -> bool:
        """Call `callback` when another replica stores a token revocation (PostgreSQL)."""
        return await self.engine.listen(REVOCATION_CHANNEL, callback)

    def transaction(self, *, durable: bool = True) -> AbstractAsyncContextManager[Tx]:
        """See `Engine.transaction`."""
        return self.engine.transaction(durable=durable)

    async def close(self) -> None:
        await self.engine.close()
