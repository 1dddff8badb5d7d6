"""The node's two gRPC servers, built from a running node's parts: the peer port (other nodes
only, mutual TLS with the directory's certificates) and the client port (enterprises, agencies,
operators and enrolment, over TLS). The servicers only translate; the parts do the work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from core.errors import ConfigError
from core.trust import TrustView
from federation.channels import SERVER_KEEPALIVE, message_size_options
from federation.directory_sync import DirectorySync
from federation.inbound import Inbound
from federation.tls import client_port_credentials, peer_port_credentials
from identity.accounts import Accounts
from identity.authority import Authority
from identity.keys import NodeKeys
from node.config import NodeConfig
from node.servers.certificates import CertificatesService
from node.servers.declarations import AgencyWorkService, DeclarationsService
from node.servers.enrolment import EnrolmentService
from node.servers.identity import IdentityService, RegistryService
from node.servers.logistics import LogisticsPeerService, LogisticsService
from node.servers.peer import PeerService
from node.servers.rotation import RotationService
from node.servers.sharing import DataSharingService
from node.servers.statistics import StatisticsPeerService
from node.tracing import NodeTracing
from services.certificates import Certificates
from services.declarations import Declarations
from services.logistics import Logistics
from services.sharing import Sharing
from swf.v1 import (
    certificates_pb2,
    certificates_pb2_grpc,
    declarations_pb2,
    declarations_pb2_grpc,
    enrolment_pb2,
    enrolment_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    peer_pb2,
    peer_pb2_grpc,
)
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import logistics_pb2 as lpb
from swf.v1 import logistics_pb2_grpc as lgrpc


class Parts(Protocol):
    """What the servicers are built from: the parts of a running node (node/runtime.py), named
    here so that the servers need not know the runtime that assembles them."""

    config: NodeConfig
    clock_ms: Callable[[], int]
    keys: NodeKeys
    authority: Authority | None
    sync: DirectorySync
    inbound: Inbound
    accounts: Accounts
    declarations: Declarations
    certificates: Certificates
    sharing: Sharing
    logistics: Logistics
    health_servicer: HealthServicer
    tracing: NodeTracing

    @property
    def trust(self) -> TrustView: ...

    async def statistics(self, request: dpb.StatisticsRequest) -> dpb.Statistics: ...


__all__ = [
    "CLIENT_SERVICES",
    "PEER_SERVICES",
    "SERVICE_NAMES",
    "Parts",
    "client_server",
    "peer_server",
]

log = logging.getLogger("swnode.node")

PEER_SERVICES = (
    peer_pb2.DESCRIPTOR.services_by_name["Peer"].full_name,
    peer_pb2.DESCRIPTOR.services_by_name["Rotation"].full_name,
    identity_pb2.DESCRIPTOR.services_by_name["Registry"].full_name,
    declarations_pb2.DESCRIPTOR.services_by_name["StatisticsPeer"].full_name,
    lpb.DESCRIPTOR.services_by_name["LogisticsPeer"].full_name,
)
CLIENT_SERVICES = (
    enrolment_pb2.DESCRIPTOR.services_by_name["Enrolment"].full_name,
    identity_pb2.DESCRIPTOR.services_by_name["Identity"].full_name,
    declarations_pb2.DESCRIPTOR.services_by_name["Declarations"].full_name,
    declarations_pb2.DESCRIPTOR.services_by_name["AgencyWork"].full_name,
    certificates_pb2.DESCRIPTOR.services_by_name["Certificates"].full_name,
    lpb.DESCRIPTOR.services_by_name["Logistics"].full_name,
    lpb.DESCRIPTOR.services_by_name["DataSharing"].full_name,
)
SERVICE_NAMES = PEER_SERVICES + CLIENT_SERVICES


def peer_server(node: Parts) -> grpc.aio.Server:
    """The peer port: other nodes only, mutual TLS with the directory's certificates."""
    config = node.config
    options = message_size_options(config.max_message_bytes) + SERVER_KEEPALIVE
    peer = grpc.aio.server(options=options, interceptors=node.tracing.server_interceptors())
    peer_pb2_grpc.add_PeerServicer_to_server(
        PeerService(
            node_id=config.id,
            trust=lambda: node.trust,
            clock_ms=node.clock_ms,
            authority=node.authority,
            inbound=node.inbound,
            directory_notice=node.sync.notice,
        ),
        peer,
    )
    peer_pb2_grpc.add_RotationServicer_to_server(
        RotationService(
            node_id=config.id,
            trust=lambda: node.trust,
            clock_ms=node.clock_ms,
            authority=node.authority,
        ),
        peer,
    )
    identity_pb2_grpc.add_RegistryServicer_to_server(
        RegistryService(node.accounts, lambda: node.trust, node.clock_ms), peer
    )
    declarations_pb2_grpc.add_StatisticsPeerServicer_to_server(
        StatisticsPeerService(
            config.id,
            lambda: node.trust,
            node.clock_ms,
            lambda req: node.statistics(
                dpb.StatisticsRequest(from_date=req.from_date, to_date=req.to_date)
            ),
        ),
        peer,
    )
    lgrpc.add_LogisticsPeerServicer_to_server(
        LogisticsPeerService(
            trust=lambda: node.trust,
            clock_ms=node.clock_ms,
            sharing=node.sharing,
            logistics=node.logistics,
        ),
        peer,
    )
    health_pb2_grpc.add_HealthServicer_to_server(node.health_servicer, peer)
    _bind(
        node.config,
        peer,
        config.peer_port,
        peer_port_credentials(
            lambda: node.keys.tls_identity(), lambda: node.trust.ca_certificates()
        ),
        "peer",
    )
    return peer


def client_server(node: Parts) -> grpc.aio.Server:
    """The client port: enterprises, agencies, operators and enrolment, over TLS."""
    config = node.config
    options = message_size_options(config.max_message_bytes) + SERVER_KEEPALIVE
    client = grpc.aio.server(options=options, interceptors=node.tracing.server_interceptors())
    identity_pb2_grpc.add_IdentityServicer_to_server(IdentityService(node.accounts), client)
    declarations_pb2_grpc.add_DeclarationsServicer_to_server(
        DeclarationsService(node.accounts, node.declarations, node.statistics), client
    )
    certificates_pb2_grpc.add_CertificatesServicer_to_server(
        CertificatesService(node.accounts, node.certificates), client
    )
    declarations_pb2_grpc.add_AgencyWorkServicer_to_server(
        AgencyWorkService(node.accounts, node.declarations), client
    )
    enrolment_pb2_grpc.add_EnrolmentServicer_to_server(
        EnrolmentService(config.id, node.authority, node.sync.load), client
    )
    lgrpc.add_LogisticsServicer_to_server(LogisticsService(node.accounts, node.logistics), client)
    lgrpc.add_DataSharingServicer_to_server(DataSharingService(node.accounts, node.sharing), client)
    health_pb2_grpc.add_HealthServicer_to_server(node.health_servicer, client)
    reflection.enable_server_reflection(
        (
            *CLIENT_SERVICES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        client,
    )
    _bind(
        node.config,
        client,
        config.client_port,
        client_port_credentials(lambda: node.keys.tls_identity()),
        "client",
    )
    return client


def _bind(
    config: NodeConfig,
    server: grpc.aio.Server,
    port: int,
    credentials: grpc.ServerCredentials,
    name: str,
) -> None:
    address = f"{config.host}:{port}"
    try:
        bound = server.add_secure_port(address, credentials)
    except RuntimeError as exc:
        bound = 0
        log.debug("bind %s failed: %s", address, exc)
    if bound != port:
        raise ConfigError(
            f"[ports] {name}: cannot listen on {address}; is another process using it?",
            field=f"ports.{name}",
        )
