"""The identity world the tests of identity/ share: each node's Accounts on its own real SQLite
database, the national registry played by the central node's Accounts in the same process, a
clock the test moves, revocations delivered when the test says, and the delays a failed login
would have waited recorded instead of slept."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import Unavailable
from federation.registry_client import RegistryClient
from identity.accounts import Accounts
from storage.database import Database
from swf.v1 import identity_pb2 as ipb
from tests.factories import NOW_MS, Federation
from tests.identity_client import PASSWORD

USCC = "91440300MA5G1234XY"


@dataclass
class Clock:
    now_ms: int = NOW_MS

    def __call__(self) -> int:
        return self.now_ms


class Registry(RegistryClient):
    """The central node's registry, reached in-process (or not at all while `down`)."""

    def __init__(self) -> None:
        self.at_central: Accounts | None = None
        self.homes: dict[str, Accounts] = {}
        self.down = False

    def _up(self) -> Accounts:
        if self.down or self.at_central is None:
            raise Unavailable("registry.unreachable", "the central node does not answer")
        return self.at_central

    async def register(self, entry: ipb.RegistryEntry, timeout_s: float) -> ipb.RegistryDecision:
        return await self._up().national_registry.register(entry)

    async def update_status(self, entry: ipb.RegistryEntry, timeout_s: float) -> None:
        await self._up().national_registry.update(entry.home_node, entry)

    async def lookup(self, uscc: str, timeout_s: float = 5) -> ipb.EnterpriseProfile:
        return await self._up().national_registry.lookup(uscc)

    async def login(
        self, home: str, request: ipb.LoginRequest, timeout_s: float = 15
    ) -> ipb.Tokens:
        via = request.via_node
        forwarded = ipb.LoginRequest(
            party=request.party,
            user=request.user,
            password=request.password,
            via_node=via,
            source=f"{via}:{request.source}",
        )
        return await self.homes[home].sessions.login(forwarded, forwarded.source)


@dataclass
class World:
    federation: Federation
    clock: Clock
    registry: Registry
    nodes: dict[str, Accounts] = field(default_factory=dict)
    databases: dict[str, Database] = field(default_factory=dict)
    sent: list[tuple[str, ipb.TokenRevocation]] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)  # what failed logins would have waited

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def request(uscc: str = USCC, **changes: object) -> ipb.RegisterEnterpriseRequest:
    fields: dict[str, object] = {
        "uscc": uscc,
        "name": "Example Trading Co., Ltd.",
        "roles": ["declarant"],
        "admin_user": "alice",
        "admin_password": PASSWORD,
    }
    fields.update(changes)
    return ipb.RegisterEnterpriseRequest(**fields)  # type: ignore[arg-type]


def login(party: str = USCC, user: str = "alice") -> ipb.LoginRequest:
    return ipb.LoginRequest(party=party, user=user, password=PASSWORD)


async def deliver(world: World) -> None:
    """Every revocation broadcast so far, handed to every other node as its envelope would."""
    sent, world.sent = world.sent, []
    for origin, revocation in sent:
        for node_id, accounts in world.nodes.items():
            if node_id != origin:
                await accounts.revocations.handle(origin, revocation.SerializeToString())
