"""A running node: opens storage, loads keys and directories, serves the four ports and runs the
background loops (directory sync, peer probes, health). `swnode run` is it and a signal handler."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from grpc_health.v1._async import HealthServicer
from opentelemetry.sdk.trace.export import SpanExporter

import services
from core.algorithms import SigningKey, public_bytes
from core.backoff import Backoff
from core.certificate_checks import KIND_TYPES
from core.envelope import Limits
from core.errors import ConfigError
from core.signer import Signer
from core.signing import PURPOSE_SIGNING, PURPOSE_TOKEN, key_id_of
from core.tariff import Tariff, parse_tariff
from core.trust import TrustView
from federation.channels import PeerChannels
from federation.delivery import Answered, Delivery, DeliverySettings
from federation.directory_sync import DirectorySync
from federation.dispatch import Dispatcher
from federation.inbound import Inbound
from federation.outbox import Outbox, OutboxSettings
from federation.reachability import Reachability
from federation.registry_client import RegistryClient
from federation.reseal import Resealer
from federation.sharing_client import SharingPeers
from federation.statistics_client import StatisticsPeers
from federation.tasks import Tasks
from identity.accounts import Accounts, AccountSettings
from identity.authority import Authority, CentralSettings
from identity.keys import NodeKeys, load_node_keys, save_directory_public
from identity.local_secret import open_local_secrets
from identity.lockout import LockoutPolicy, RateLimit
from identity.revocations import REVOCATION_TYPE, revocation_drafts
from node.config import NodeConfig
from node.health import Health
from node.key_rotation import CaBundle, DirectoryKeyWatch, KeyWatch, TlsKey
from node.metrics import Metrics
from node.renewal import Renewal
from node.servers.ops import OpsServer
from node.servers.ports import client_server, peer_server
from node.servers.rpc import set_refusal_observer
from node.servers.status_document import jwk, node_status, tls_in_use
from node.statistics import statistics_for
from node.tracing import NodeTracing
from node.upkeep import certificates_loop, directory_current, identity_loop
from node.web.server import WebServer, portal_for
from services.certificates import STATUS_TYPE, Certificates
from services.declarations import Declarations
from services.logistics import Logistics
from services.sharing import Sharing
from services.simulator import Simulator
from services.statistics import node_statistics
from storage.database import Database
from storage.engine import redact
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import identity_pb2 as ipb

__all__ = [
    "Node",
    "account_settings",
    "load_tariff",
    "outbox_settings",
    "run_node",
    "wall_clock_ms",
]

log = logging.getLogger("swnode.node")

SAMPLE_TARIFF = Path(services.__file__).parent / "tariff_sample.csv"


def load_tariff(config: NodeConfig) -> Tariff:
    path = Path(config.tariff_file) if config.tariff_file else SAMPLE_TARIFF
    try:
        return parse_tariff(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"[declarations] tariff_file: cannot read {path}: {exc}",
            field="declarations.tariff_file",
        ) from exc


def account_settings(config: NodeConfig) -> AccountSettings:
    return AccountSettings(
        lockout=LockoutPolicy(
            free_failures=config.lockout_free_failures,
            delay_step_s=config.lockout_delay_step_s,
            max_delay_s=config.lockout_max_delay_s,
            lock_after=config.lockout_after,
            lock_s=config.lockout_s,
            source=RateLimit(limit=config.lockout_source_after, window_s=config.lockout_window_s),
        ),
        registrations=RateLimit(
            limit=config.registration_limit, window_s=config.registration_window_s
        ),
    )


def outbox_settings(config: NodeConfig) -> OutboxSettings:
    return OutboxSettings(
        max_message_bytes=config.max_message_bytes, ttl_ms=int(config.message_ttl_s * 1000)
    )


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Node:
    """The parts of a running node, built in order by start(): storage, the federation (channels,
    directory, delivery), the services, then the servers and the loops."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        clock_ms: Callable[[], int] = wall_clock_ms,
        span_exporter: SpanExporter | None = None,
    ) -> None:
        self.config = config
        self.clock_ms = clock_ms
        self.replica = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # Where spans go: node.toml's [tracing], or `span_exporter` (a test's in-memory one).
        self.tracing = NodeTracing(config, replica=self.replica, exporter=span_exporter)
        self.metrics = Metrics()
        set_refusal_observer(lambda reason: self.metrics.rpc_errors.labels(reason).inc())
        self._tasks = Tasks(f"node {config.id}")
        self._servers: list[grpc.aio.Server] = []
        self.health_servicer = HealthServicer()
        self._ops: OpsServer | None = None
        self._web: WebServer | None = None
        self._serving = False  # set once start() has finished
        self.keys: NodeKeys
        self.db: Database
        self.authority: Authority | None = None
        self.sync: DirectorySync
        self.reachability: Reachability
        self.channels: PeerChannels
        self.statistics_peers: StatisticsPeers
        self.delivery: Delivery
        self.outbox: Outbox
        self.inbound: Inbound
        self.dispatcher: Dispatcher
        self.accounts: Accounts
        self.declarations: Declarations
        self.certificates: Certificates
        self.sharing: Sharing
        self.logistics: Logistics
        self.health: Health

    @property
    def trust(self) -> TrustView:
        return self.sync.trust

    # -- start and stop ----------------------------------------------------------------------

    async def start(self) -> None:
        await self._open_storage()
        await self._join_federation()
        await self._start_services()
        await self._serve()
        config = self.config
        log.info(
            "node %s (%s) serving: peer %s, client %s, ops %s, portal %s",
            config.id,
            config.role.value,
            config.peer_endpoint,
            config.client_endpoint,
            config.ops_url,
            config.web_url or "-",
        )
        self._serving = True

    async def _open_storage(self) -> None:
        """The node's keys and database; at a central, its directory authority too."""
        config = self.config
        self.keys = load_node_keys(config.dir)
        if not self.keys.enrolled or self.keys.directory_public is None:
            raise ConfigError(
                f"{config.dir}: node {config.id} has not enrolled with its central node; run "
                f"`swnode enroll --dir {config.dir} --central HOST:PORT --token TOKEN` first"
            )
        self.db = await Database.open(
            config.storage_url, base_dir=config.dir, password=config.storage_password()
        )
        log.info("storage: %s", redact(config.storage_url))
        self.local_secrets = await open_local_secrets(config.dir, self.db)  # keys/local.secret
        self.metrics.watch_storage(self.db.engine.counters)
        if config.is_central:
            self.authority = Authority(
                self.db,
                CentralSettings(
                    node_id=config.id,
                    peer_endpoint=config.peer_endpoint,
                    client_endpoint=config.client_endpoint,
                    directory_validity_s=config.directory_validity_s,
                    certificate_lifetime_ms=int(config.key_lifetime_s * 1000),
                ),
                self.keys,
                self.clock_ms,
            )
            await self.authority.refresh_if_due()

    async def _join_federation(self) -> None:
        """Channels to the peers, the directory, and the outbox with its delivery."""
        config = self.config
        assert self.keys.ca_cert is not None and self.keys.directory_public is not None
        self.channels = PeerChannels(
            self.keys.tls_identity(),
            max_message_bytes=config.max_message_bytes,
            interceptors=self.tracing.client_interceptors(),
        )
        self.statistics_peers = StatisticsPeers(
            node_id=config.id, channels=self.channels, trust=lambda: self.trust
        )
        self.sync = DirectorySync(
            node_id=config.id,
            db=self.db,
            directory_key=self.keys.directory_public,
            own_ca_der=self.keys.ca_cert.public_bytes(Encoding.DER),
            directory_key_algorithm=self.keys.profile.key_algorithm,
            channels=self.channels,
            clock_ms=self.clock_ms,
            refresh=self.authority.refresh_if_due if self.authority else None,
            central_peer_endpoint=config.central_peer_endpoint,
            on_change=self._trust_changed,
            on_directory_key=self._follow_directory_key,
            on_foreign_key=self.authority.follow_anchor_key if self.authority else None,
        )
        await self.sync.load()
        if not config.is_central:
            # A node that was stopped may hold a directory that missed rotations: fetch the
            # current one before serving, so that peers' new keys are known (PROTOCOL.md §2.9).
            try:
                await asyncio.wait_for(self.sync.poll_once(), timeout=3.0)
            except Exception as exc:  # the loop keeps trying; start anyway
                log.warning("directory not refreshed at start: %s", exc)
        self.reachability = Reachability(
            config.id, self.channels, lambda: self.trust, self.clock_ms
        )
        self.delivery = Delivery(
            node_id=config.id,
            replica=self.replica,
            db=self.db,
            channels=self.channels,
            trust=lambda: self.trust,
            clock_ms=self.clock_ms,
            settings=DeliverySettings(
                window=config.delivery_window,
                lease_ms=int(config.claim_lease_s * 1000),
                backoff=Backoff(base_s=config.backoff_base_s, cap_s=config.backoff_cap_s),
            ),
            tracer=self.tracing.tracer,
        )
        self.delivery.listeners += [self.metrics.answered, self._answered]
        self._certificates_due = asyncio.Event()
        # One signer for all this node signs: envelopes, receipts (inbound) and sharing queries.
        self.signer = Signer.of(config.id, self.keys.signing_key)
        self.outbox = Outbox(
            node_id=config.id,
            db=self.db,
            signer=self.signer,
            trust=lambda: self.trust,
            clock_ms=self.clock_ms,
            settings=outbox_settings(config),
            handover=self.delivery,
        )
        self.dispatcher = Dispatcher(self.db, tracer=self.tracing.tracer)
        self.resealer = Resealer(config.id, self.db, self, self.delivery)  # after a key switch

    async def _start_services(self) -> None:
        """The services, each told which messages from other nodes are its to handle."""
        config = self.config
        self.accounts = Accounts(
            node_id=config.id,
            db=self.db,
            token_key=self.keys.token_key,
            token_key_id=key_id_of(config.id, PURPOSE_TOKEN, self.keys.token_key),
            trust=lambda: self.trust,
            clock_ms=self.clock_ms,
            registry=RegistryClient(config.id, self.channels, lambda: self.trust),
            broadcast=self._broadcast_revocation,
            settings=account_settings(config),
        )
        await self.accounts.revocations.load()
        self.dispatcher.register(
            REVOCATION_TYPE, lambda m: self.accounts.revocations.handle(m.origin, m.payload)
        )
        self.declarations = Declarations(
            node_id=config.id,
            db=self.db,
            clock_ms=self.clock_ms,
            routing=config.routing,
            tariff=load_tariff(config),
            tracer=self.tracing.tracer,
        )
        # Certificates across the border: issued when an application is approved, received
        # from other federations' windows, their statuses carried both ways.
        self.certificates = Certificates(
            node_id=config.id,
            db=self.db,
            outbox=self.outbox,
            trust=lambda: self.trust,
            clock_ms=self.clock_ms,
            directory_current=directory_current(self.sync, config.poll_interval_s, self.clock_ms),
        )
        self.declarations.approval_hooks.append(self.certificates.issue_txn)
        self.declarations.on_change(self.certificates.wake_queued)
        for document_type in KIND_TYPES.values():
            self.dispatcher.register(document_type, self.certificates.receive)
        self.dispatcher.register(STATUS_TYPE, self.certificates.on_status)
        # Logistics status for the whole journey and the data sharing pool: timelines read
        # across the federation with signed peer queries, checked against the owners' grants.
        self.sharing = Sharing(
            node_id=config.id,
            db=self.db,
            peers=SharingPeers(
                node_id=config.id,
                channels=self.channels,
                trust=lambda: self.trust,
                signer=self.signer,
                clock_ms=self.clock_ms,
            ),
            trust=lambda: self.trust,
            clock_ms=self.clock_ms,
            skew_ms=int(config.clock_skew_s * 1000),
        )
        self.logistics = Logistics(
            node_id=config.id,
            db=self.db,
            sharing=self.sharing,
            clock_ms=self.clock_ms,
            skew_ms=int(config.clock_skew_s * 1000),
        )
        await self.sharing.publish_operator_datasets()

    async def _serve(self) -> None:
        """What arrives from peers, the two gRPC ports, the ops port, and the loops."""
        config = self.config
        self.inbound = Inbound(
            node_id=config.id,
            db=self.db,
            outbox=self.outbox,
            signer=self.signer,
            trust=lambda: self.trust,
            clock_ms=self.clock_ms,
            limits=Limits(
                max_message_bytes=config.max_message_bytes,
                clock_skew_ms=int(config.clock_skew_s * 1000),
            ),
            on_received=self._received,
            on_delivered=self._certificates_due.set,  # a certificate on its way may have settled
            tracer=self.tracing.tracer,
        )
        await self._start_servers()
        self._ops = OpsServer(config.ops_host, config.ops_port, self.metrics.registry)
        self._ops.start()
        self.metrics.info.info(
            {"id": config.id, "role": config.role.value, "replica": self.replica}
        )
        self.health = Health(
            db=self.db,
            trust=lambda: self.trust,
            reachability=self.reachability,
            clock_ms=self.clock_ms,
            metrics=self.metrics,
            servicer=self.health_servicer,
            ops=self._ops,
            jwks=self.jwks,
            status=self.status,
            keys=lambda: self.keys,
        )
        await self.health.refresh()
        self.delivery.moved.append(self.health.outbox_moved)
        self.delivery.listeners.append(self.health.outbox_moved)
        # Work queued by another process wakes this one: NOTIFY on PostgreSQL, the ops port's
        # /wake on SQLite (which `swnode send` calls); see federation/delivery.py.
        running = asyncio.get_running_loop()
        self._ops.on_wake = lambda: running.call_soon_threadsafe(self._woken)  # from its thread
        if await self.db.on_outbox_work(self.delivery.rescan):
            log.info("outbox work from other replicas arrives by LISTEN/NOTIFY")
        revoked = asyncio.Event()
        await self.db.on_revocation(revoked.set)
        interval = config.poll_interval_s
        loops: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
            "directory-sync": lambda: self.sync.run(interval),
            "reachability": lambda: self.reachability.run(interval),
            "health": lambda: self.health.run(interval),
            "delivery": self.delivery.run,
            "dispatch": self.dispatcher.run,
            "reseal": self.resealer.run,
            "identity": lambda: identity_loop(self.accounts, interval, revoked),
            "certificates": lambda: certificates_loop(
                self.certificates, self._certificates_due, interval
            ),
            "keys": self._key_watch().run,
            "renewal": lambda: Renewal(
                config=config,
                keys=lambda: self.keys,
                trust=lambda: self.trust,
                clock_ms=self.clock_ms,
            ).run(interval),
        }
        if self.authority is not None:
            loops["directory-key"] = DirectoryKeyWatch(
                node_dir=config.dir,
                authority=self.authority,
                sync=self.sync,
                activation_ms=int(4 * interval * 1000),
                clock_ms=self.clock_ms,
                on_key=self._use_directory_key,
            ).run
        if config.simulator_enabled:
            log.warning("the agency simulator is on: agencies' work is decided by rules")
            loops["simulator"] = Simulator(self.declarations).run
        for name, loop in loops.items():
            self._tasks.supervise(name, loop)

    async def _start_servers(self) -> None:
        servers = [peer_server(self), client_server(self)]  # all bound before any starts
        if self.config.web_port is not None:
            self._web = WebServer(portal_for(self, self.local_secrets.session_secret))
            self._web.bind()
        for server in servers:
            await server.start()
            self._servers.append(server)
        if self._web is not None:
            await self._web.start()

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop whatever has started (also after a start that failed half-way)."""
        await self._tasks.close()
        if hasattr(self, "delivery"):
            await self.delivery.stop()
        await self.health_servicer.enter_graceful_shutdown()
        if self._web is not None:
            await self._web.stop()
        await asyncio.gather(*(s.stop(grace_s) for s in self._servers))
        if self._ops is not None:
            self._ops.stop()
        if hasattr(self, "channels"):
            await self.channels.close()
        if hasattr(self, "db"):
            await self.db.close()
        self.tracing.shutdown()
        if self._serving:
            log.info("node %s stopped", self.config.id)
        self._serving = False

    async def statistics(self, request: dpb.StatisticsRequest) -> dpb.Statistics:
        """This node's figures; at a central asked for the federation, every province's too."""
        return await statistics_for(
            request,
            node_id=self.config.id,
            own=lambda f, t: node_statistics(self.db, self.config.id, f, t),
            provinces=self.statistics_peers.provinces,
            ask=self.statistics_peers.ask,
        )

    def _answered(self, answered: Answered) -> None:
        if answered.delivered or answered.dead:
            self._certificates_due.set()  # a certificate on its way may have settled

    def _woken(self) -> None:
        self.delivery.rescan()
        self.dispatcher.wake()

    def _received(self, count: int) -> None:
        self.metrics.messages_received.inc(count)
        self.dispatcher.wake()

    async def _broadcast_revocation(self, revocation: ipb.TokenRevocation) -> None:
        """Tell every other node of the federation to refuse the revoked tokens."""
        drafts = revocation_drafts(self.trust, self.config.id, revocation)
        if drafts:
            await self.outbox.submit(drafts)

    # -- key rotation (PROTOCOL.md §2.9) ----------------------------------------------------

    def _key_watch(self) -> KeyWatch:
        return KeyWatch(
            node_id=self.config.id,
            node_dir=self.config.dir,
            keys={PURPOSE_SIGNING: self.keys.signing_key, PURPOSE_TOKEN: self.keys.token_key},
            trust=lambda: self.trust,
            clock_ms=self.clock_ms,
            on_key=self._use_key,
            on_tls=self._use_tls,
        )

    def _follow_directory_key(self, public_key: bytes) -> None:
        """Trust the directory key the federation's central announced, also after a restart."""
        save_directory_public(self.config.dir, public_key)
        self.keys = replace(self.keys, directory_public=public_key)

    def _use_directory_key(self, key: SigningKey) -> None:
        self.keys = replace(
            self.keys, directory_key=key, directory_public=public_bytes(key), directory_next=None
        )

    def _use_tls(self, key: TlsKey, cert: x509.Certificate, cas: CaBundle) -> None:
        """Present a renewed TLS certificate (or CA chain): new handshakes, new channels."""
        self.keys = replace(self.keys, tls_key=key, tls_cert=cert, ca_bundle=cas)
        self.channels.use_identity(self.keys.tls_identity())
        self.health.wake()  # its expiry figures follow the certificate and CAs in use

    def _use_key(self, purpose: str, key: SigningKey, kid: str) -> None:
        """Sign with a rotated key from now on: envelopes, receipts and queries, or tokens."""
        if purpose == PURPOSE_SIGNING:
            self.keys = replace(self.keys, signing_key=key)
            self.signer = Signer.of(self.config.id, key)
            self.outbox.signer = self.signer
            self.inbound.use_signer(self.signer)
            self.sharing.peers.use_signer(self.signer)
            self.resealer.key_changed()  # what the old key sealed and is undelivered
        else:
            self.keys = replace(self.keys, token_key=key)
            self.accounts.sessions.use_token_key(key, kid)

    # -- reacting to the directory -----------------------------------------------------------

    def _trust_changed(self, trust: TrustView) -> None:
        if hasattr(self, "delivery"):  # queues waiting for a valid directory, new neighbours
            self.delivery.rescan()
            self.reachability.wake()
            self._certificates_due.set()  # certificates held for a current directory
        if hasattr(self, "health"):
            self.health.wake()
        log.info(
            "directory %s v%d%s",
            self.config.federation,
            trust.version,
            "".join(f", {f} v{d.version}" for f, d in sorted(trust.foreign.items())),
        )

    # -- status ------------------------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        """This node's token keys as a JWKS, taken from its entry in the signed directory, so
        that the two can never differ: those not retired nor expired (one about to be used
        included, so that clients fetch it first; PROTOCOL.md §2.9)."""
        me = self.trust.node(self.config.id)
        now = self.clock_ms()
        return {
            "keys": [
                jwk(k)
                for k in (me.token_keys if me is not None else [])
                if not (k.retired_at_unix_ms and now >= k.retired_at_unix_ms)
                and not (k.not_after_unix_ms and now >= k.not_after_unix_ms)
            ]
        }

    def status(self) -> dict[str, Any]:
        return node_status(
            self.config,
            self.trust,
            self.clock_ms(),
            running=True,
            reachable={p: s.reachable for p, s in self.reachability.peers.items()},
            replica=self.replica,
            pid=os.getpid(),
            last_error=self.sync.last_error,
            foreign_errors=self.sync.foreign_errors,
            healthy=not self.health.reasons(),
            in_use=tls_in_use(self.keys),
        )


async def run_node(config: NodeConfig) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    import signal

    node = Node(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await node.start()
        await stop.wait()
        log.info("stopping")
    finally:
        await node.stop()
