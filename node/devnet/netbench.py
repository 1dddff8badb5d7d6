"""`scripts/bench-network`: a whole test network brought up in a temporary folder, measured, and
taken down again (only the processes it started).

What it reports (the last line printed is JSON):
- time to healthy: from nothing to every node serving with every directory it trusts;
- idle CPU (share of one core) and RSS of each node over `idle_s` seconds, read with psutil;
- how long an enrolment, and then a revocation, take to reach every node (each node holding the
  new directory version of that federation);
- a goods declaration from submit to cleared at CN-SH (the agency simulator decides), p50/p99;
- a certificate of origin from its application at CN-SH to delivered at SG, p50/p99;
- a timeline query at CN-GD, which asks every node of the federation, p50/p99.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import psutil

from core import directory_bundles
from core.documents import parse_json, wrap
from core.ids import Role, federation_of, role_of
from node.client.common import bearer
from node.config import load_config
from node.devnet import national
from node.devnet.bench import percentile
from node.devnet.demo import ENTERPRISE, EXAMPLES, PASSWORD, USER, Demo
from node.devnet.network import Devnet, Settings
from node.operator import admin
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import certificates_pb2_grpc as cgrpc
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import declarations_pb2_grpc as dgrpc
from swf.v1 import directory_pb2 as dirpb
from swf.v1 import identity_pb2 as ipb
from swf.v1 import identity_pb2_grpc as igrpc
from swf.v1 import logistics_pb2 as lpb
from swf.v1 import logistics_pb2_grpc as lgrpc

__all__ = ["bench_network", "idle_usage", "main_cli"]

T = TypeVar("T")
CONTAINER = "CSQU3054383"  # a valid ISO 6346 number that no node holds events for


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _spread(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 50), 1),
        "p99_ms": round(percentile(ordered, 99), 1),
    }


def _revision() -> str:
    """The commit measured, so that kept figures say which code they are of."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 (git from PATH)
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return ""
    return done.stdout.strip()


def _until(what: Callable[[], T], done: Callable[[T], bool], timeout_s: float, step_s: float) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = what()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached within {timeout_s:.0f}s: {value!r}")
        time.sleep(step_s)


# -- idle --------------------------------------------------------------------------------------


def idle_usage(net: Devnet, idle_s: float) -> dict[str, Any]:
    """CPU (share of one core) and RSS of each node over `idle_s` seconds of nothing to do."""
    procs = {nid: psutil.Process(pid) for nid in net.node_ids() if (pid := net.pid(nid))}
    before = {nid: sum(p.cpu_times()[:2]) for nid, p in procs.items()}
    start = time.monotonic()
    time.sleep(idle_s)
    elapsed = time.monotonic() - start
    nodes = {
        nid: {
            "cpu_pct": round(100 * (sum(p.cpu_times()[:2]) - before[nid]) / elapsed, 3),
            "rss_mib": round(p.memory_info().rss / 2**20, 1),
        }
        for nid, p in procs.items()
    }
    cpu = [n["cpu_pct"] for n in nodes.values()]
    rss = [n["rss_mib"] for n in nodes.values()]
    return {
        "seconds": round(elapsed, 1),
        "nodes": len(nodes),
        "cpu_pct_per_node_mean": round(sum(cpu) / len(cpu), 3),
        "cpu_pct_per_node_max": max(cpu),
        "cpu_pct_central": nodes["CN"]["cpu_pct"],
        "cpu_pct_total": round(sum(cpu), 2),
        "rss_mib_per_node_mean": round(sum(rss) / len(rss), 1),
        "rss_mib_per_node_max": max(rss),
        "per_node": nodes,
    }


# -- directories reaching every node -----------------------------------------------------------


def _versions_of(net: Devnet, federation: str) -> dict[str, int]:
    """The version of `federation`'s directory each node that should hold it holds: its own
    nodes, and the nodes of the federations that trust it (0 while one holds none)."""
    held = {}
    for nid in net.node_ids():
        status = net.node_status(nid) or {}
        directory = status.get("directory", {})
        if federation_of(nid) == federation:
            held[nid] = int(directory.get("version", 0))
        elif federation in directory.get("trusted_federations", []):
            held[nid] = int(directory.get("foreign", {}).get(federation, {}).get("version", 0))
    return held


def _reach(net: Devnet, federation: str, above: int, timeout_s: float) -> float:
    start = time.monotonic()
    _until(
        lambda: _versions_of(net, federation),
        lambda held: all(v > above for v in held.values()),
        timeout_s,
        0.05,
    )
    return time.monotonic() - start


async def directory_changes(net: Devnet, timeout_s: float) -> dict[str, Any]:
    """Enrol a province not in the network (at SG when there is one, else at CN), then revoke
    it; each time, how long until every node holds that federation's new directory."""
    ids = net.node_ids()
    federation = "SG" if "SG" in ids else "CN"
    spare = national.foreign_provinces("SG") if federation == "SG" else national.provinces()
    newcomer = next(p for p in spare if p not in ids)
    central_dir = net.node_dir(federation)
    node_dir = net.root / "enrolled" / newcomer
    peer, client, ops = admin.free_ports("127.0.0.1", 3)
    await admin.init_node(
        admin.InitOptions(
            node_dir=node_dir,
            node_id=newcomer,
            role=Role.PROVINCE,
            peer_port=peer,
            client_port=client,
            ops_port=ops,
        )
    )
    before = min(_versions_of(net, federation).values())
    invitation = await admin.invite(central_dir, newcomer, "10m")
    enrolled = time.monotonic()
    await admin.enroll_node(node_dir, load_config(central_dir).client_endpoint, invitation.encode())
    enrolment = (time.monotonic() - enrolled) + _reach(net, federation, before, timeout_s)
    before = min(_versions_of(net, federation).values())
    revoked = time.monotonic()
    await admin.revoke(central_dir, newcomer, "benchmark")
    revocation = (time.monotonic() - revoked) + _reach(net, federation, before, timeout_s)
    return {
        "federation": federation,
        "enrolment_to_every_node_ms": _ms(enrolment),
        "revocation_to_every_node_ms": _ms(revocation),
    }


async def directory_bytes(net: Devnet) -> dict[str, int]:
    """The size of each signed directory CN holds (its own and the foreign ones it trusts), and
    of CN's answers to a member's poll: the whole bundle, and `not_modified` (PROTOCOL.md §2.7)."""
    db = await admin.open_db(load_config(net.node_dir("CN")))
    try:
        held = dict(sorted((await db.directories.held()).items()))
    finally:
        await db.close()
    bundle = directory_bundles.tag(
        dirpb.DirectoryBundle(
            own=dirpb.SignedDirectory.FromString(held["CN"].signed),
            foreign=[
                dirpb.SignedDirectory.FromString(d.signed) for f, d in held.items() if f != "CN"
            ],
        )
    )
    unchanged = directory_bundles.answer(bundle, bundle.digest)
    return {f: len(d.signed) for f, d in held.items()} | {
        "bundle": bundle.ByteSize(),
        "not_modified": unchanged.ByteSize(),
    }


# -- documents and queries -----------------------------------------------------------------------


def _session(demo: Demo) -> tuple[tuple[tuple[str, str], ...], Any]:
    identity = igrpc.IdentityStub(demo.channel("CN-GD"))
    try:
        identity.RegisterEnterprise(
            ipb.RegisterEnterpriseRequest(
                uscc=ENTERPRISE,
                name="Shenzhen Example Trading Co., Ltd.",
                address="88 Shennan Avenue, Futian District, Shenzhen",
                contact=ipb.Contact(name="Alice Wang", email="alice@example.cn"),
                roles=["declarant", "exporter"],
                admin_user=USER,
                admin_password=PASSWORD,
            ),
            timeout=30,
        )
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    tokens = _until(
        lambda: _login(demo, "CN-SH"), lambda t: t is not None, timeout_s=60, step_s=0.2
    )
    assert tokens is not None
    return bearer(tokens.access_token), tokens


def _login(demo: Demo, node: str) -> ipb.Tokens | None:
    try:
        tokens: ipb.Tokens = igrpc.IdentityStub(demo.channel(node)).Login(
            ipb.LoginRequest(party=ENTERPRISE, user=USER, password=PASSWORD), timeout=30
        )
    except grpc.RpcError:
        return None  # the registration has not reached this province yet
    return tokens


def declarations(demo: Demo, meta: Any, count: int) -> dict[str, Any]:
    stub = dgrpc.DeclarationsStub(demo.channel("CN-SH"))
    document = wrap(
        parse_json("goods_declaration", (EXAMPLES / "goods_declaration.json").read_text())
    )
    times = []
    for _ in range(count):
        start = time.monotonic()
        d = stub.Submit(dpb.SubmitRequest(document=document), metadata=meta, timeout=30)

        def status(declaration_id: str = d.id) -> str:
            got: dpb.Declaration = stub.GetDeclaration(
                dpb.GetDeclarationRequest(id=declaration_id), metadata=meta, timeout=10
            )
            return got.status

        _until(
            status,
            lambda s: s in ("cleared", "rejected"),
            timeout_s=60,
            step_s=0.005,
        )
        times.append((time.monotonic() - start) * 1000)
    return _spread(times)


def certificates(demo: Demo, meta: Any, count: int) -> dict[str, Any]:
    declarations_stub = dgrpc.DeclarationsStub(demo.channel("CN-SH"))
    issuer = cgrpc.CertificatesStub(demo.channel("CN-SH"))
    text = (EXAMPLES / "certificate_of_origin_application.json").read_text()
    document = wrap(parse_json("certificate_of_origin_application", text))
    times = []
    for _ in range(count):
        start = time.monotonic()
        application = declarations_stub.Submit(
            dpb.SubmitRequest(document=document), metadata=meta, timeout=30
        )

        def status(application_id: str = application.id) -> str:
            listed = issuer.ListCertificates(
                cpb.ListCertificatesRequest(), metadata=meta, timeout=10
            )
            found = [
                c.status
                for c in listed.certificates
                if c.certificate.application_id == application_id
            ]
            return found[0] if found else "not issued"

        _until(status, lambda s: s == "delivered", timeout_s=120, step_s=0.01)
        times.append((time.monotonic() - start) * 1000)
    return _spread(times)


def timelines(demo: Demo, meta: Any, count: int) -> dict[str, Any]:
    stub = lgrpc.LogisticsStub(demo.channel("CN-GD"))
    request = lpb.TimelineRequest(key=lpb.TimelineKey(container=CONTAINER))
    times, asked = [], 0
    for _ in range(count):
        start = time.monotonic()
        try:
            timeline = stub.GetTimeline(request, metadata=meta, timeout=60)
            asked = len(timeline.nodes) + len(timeline.missing)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:  # nothing anywhere: still every node asked
                raise
        times.append((time.monotonic() - start) * 1000)
    return {**_spread(times), "nodes_answering": asked}


# -- the whole run -------------------------------------------------------------------------------


def bench_network(
    root: Path,
    *,
    provinces: int,
    foreign: int,
    idle_s: float,
    samples: int,
    poll_interval_s: float,
) -> dict[str, Any]:
    net = Devnet(root)
    started = time.monotonic()
    try:
        asyncio.run(net.create(provinces, foreign, Settings(poll_interval_s=poll_interval_s)))
        net.start()
        net.wait_healthy(timeout_s=600)
        healthy_s = time.monotonic() - started
        time.sleep(min(10.0, idle_s / 6))  # start-up work (first probes, scans) is over
        idle = idle_usage(net, idle_s)
        changes = asyncio.run(directory_changes(net, timeout_s=max(60.0, 6 * poll_interval_s)))
        changes["directory_bytes"] = asyncio.run(directory_bytes(net))
        demo = Demo(root, quiet=True)
        try:
            meta, _ = _session(demo)
            figures = {
                "declaration_submit_to_cleared": declarations(demo, meta, samples),
                "certificate_of_origin_to_sg_delivered": (
                    certificates(demo, meta, max(3, samples // 2)) if foreign else None
                ),
                "timeline_query_every_node": timelines(demo, meta, samples),
            }
        finally:
            demo.close()
    finally:
        stopped = net.stop() if net.exists() else []
    centrals = [n for n in net.node_ids() if role_of(n) is Role.CENTRAL]
    return {
        "provinces": provinces,
        "foreign": foreign,
        "nodes": len(net.node_ids()),
        "federations": len(centrals),
        "poll_interval_s": poll_interval_s,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "revision": _revision(),
        "time_to_healthy_s": round(healthy_s, 1),
        "idle": idle,
        **changes,
        **figures,
        "stopped": len(stopped),
    }


def main_cli(
    *,
    provinces: int,
    foreign: int,
    idle_s: float,
    samples: int,
    poll_interval_s: float,
    out: Path | None = None,
) -> int:
    with tempfile.TemporaryDirectory(prefix="swnode-bench-network-") as tmp:
        result = bench_network(
            Path(tmp),
            provinces=provinces,
            foreign=foreign,
            idle_s=idle_s,
            samples=samples,
            poll_interval_s=poll_interval_s,
        )
    summary = {k: v for k, v in result.items() if k != "idle"}
    idle = {k: v for k, v in result["idle"].items() if k != "per_node"}
    print(json.dumps({**summary, "idle": idle}, indent=2))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0
