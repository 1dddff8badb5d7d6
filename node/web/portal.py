"""What the portal's pages are built from: the running node's own services and identity layer
(the same objects the gRPC servicers call), its branding, and the pieces of the web room."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from identity.accounts import Accounts
from node.config import NodeConfig
from node.web.branding import Branding
from node.web.session import Sessions, Streams
from node.web.templating import Templates
from services.certificates import Certificates
from services.declarations import Declarations
from services.logistics import Logistics
from services.sharing import Sharing
from storage.database import Database

__all__ = ["Parts", "Portal"]


class Parts(Protocol):
    """The parts of a running node (node/runtime.py) that the portal uses."""

    config: NodeConfig
    clock_ms: Callable[[], int]
    db: Database
    accounts: Accounts
    declarations: Declarations
    certificates: Certificates
    logistics: Logistics
    sharing: Sharing


@dataclass(frozen=True)
class Portal:
    node: Parts
    branding: Branding
    sessions: Sessions
    streams: Streams
    templates: Templates
    csrf_key: bytes
    https: bool
    zone: str

    @property
    def node_id(self) -> str:
        return self.node.config.id
