"""The portal's server time at a node holding many declarations.

Brings up a test network (CN and CN-GD, each its own process) in a temporary folder, registers
an enterprise at CN-GD and submits N goods declarations for it through the client API (default
10,000), logs in on the portal, then asks for its dashboard and for declaration pages Q times
each, and reports the portal's own time for each (its `Server-Timing: app` header, so the
client's and the loopback's time are left out) as percentiles in milliseconds. The last line
printed is JSON. Run it with `scripts/bench-web [--declarations N] [--requests Q]`. This is a
measuring tool, not part of the node.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import httpx
from cryptography.hazmat.primitives.serialization import Encoding
from stdnum.cn import uscc as uscc_check

from core.documents import parse_json, wrap
from core.ids import tls_name
from identity.keys import load_node_keys
from node.config import load_config
from node.devnet.network import Devnet, Settings
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import declarations_pb2_grpc as dgrpc
from swf.v1 import identity_pb2 as ipb
from swf.v1 import identity_pb2_grpc as igrpc

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench password 0123"  # noqa: S105 (a throwaway network's)
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def new_uscc() -> str:
    body = "9144" + "".join(secrets.choice("0123456789") for _ in range(4))
    body += "".join(secrets.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + str(uscc_check.calc_check_digit(body))


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": round(cut[49], 2), "p99": round(cut[98], 2), "max": round(ordered[-1], 2)}


def client_channel(net: Devnet, node_id: str) -> grpc.Channel:
    ca = load_node_keys(net.node_dir("CN")).ca_cert
    assert ca is not None
    credentials = grpc.ssl_channel_credentials(ca.public_bytes(Encoding.PEM))
    return grpc.secure_channel(
        load_config(net.node_dir(node_id)).client_endpoint,
        credentials,
        options=[("grpc.ssl_target_name_override", tls_name(node_id))],
    )


def declare(net: Devnet, uscc: str, count: int) -> list[str]:
    """Register `uscc` at CN-GD and submit `count` goods declarations for it."""
    text = (ROOT / "examples" / "goods_declaration.json").read_text()
    document = wrap(parse_json("goods_declaration", text))
    document.goods_declaration.declarant_uscc = uscc
    with client_channel(net, "CN-GD") as channel:
        identity = igrpc.IdentityStub(channel)
        identity.RegisterEnterprise(
            ipb.RegisterEnterpriseRequest(
                uscc=uscc,
                name="Bench Trading Co., Ltd.",
                roles=["declarant"],
                admin_user="alice",
                admin_password=PASSWORD,
            ),
            timeout=30,
        )
        declarations = dgrpc.DeclarationsStub(channel)
        ids: list[str] = []
        token = ""
        expires = 0.0

        def submit(_: int) -> str:
            reply: dpb.Declaration = declarations.Submit(
                dpb.SubmitRequest(document=document),
                metadata=(("authorization", f"Bearer {token}"),),
                timeout=60,
            )
            return reply.id

        with ThreadPoolExecutor(8) as pool:
            for start in range(0, count, 500):
                if time.monotonic() > expires:  # access tokens last 15 minutes
                    tokens = identity.Login(
                        ipb.LoginRequest(party=uscc, user="alice", password=PASSWORD), timeout=30
                    )
                    token, expires = tokens.access_token, time.monotonic() + 600
                ids += pool.map(submit, range(start, min(count, start + 500)))
                print(f"  {len(ids)} declarations", file=sys.stderr)
    return ids


def server_ms(answer: httpx.Response) -> float:
    assert answer.status_code == 200, answer.status_code
    return float(answer.headers["server-timing"].removeprefix("app;dur="))


def measure(net: Devnet, uscc: str, ids: list[str], requests: int) -> dict[str, Any]:
    url = load_config(net.node_dir("CN-GD")).web_url
    assert url is not None
    base = url.rstrip("/")
    with httpx.Client(base_url=base, timeout=30) as web:
        token = _TOKEN.search(web.get("/login").text)
        assert token is not None
        login = web.post(
            "/login",
            data={"csrf_token": token[1], "party": uscc, "user": "alice", "password": PASSWORD},
            headers={"origin": base},
            follow_redirects=False,
        )
        assert login.status_code == 303, login.text
        for _ in range(20):  # warm up
            web.get("/dashboard")
        dashboard = [server_ms(web.get("/dashboard")) for _ in range(requests)]
        pick = random.Random(7)
        pages = [server_ms(web.get(f"/declarations/{pick.choice(ids)}")) for _ in range(requests)]
    return {"dashboard_ms": percentiles(dashboard), "declaration_page_ms": percentiles(pages)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--declarations", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="swnode-bench-web-") as tmp:
        net = Devnet(Path(tmp))
        asyncio.run(net.create(1, 0, Settings(poll_interval_s=5.0, simulator=False)))
        try:
            net.start()
            net.wait_healthy()
            uscc = new_uscc()
            started = time.monotonic()
            ids = declare(net, uscc, args.declarations)
            loaded_s = time.monotonic() - started
            result = {
                "declarations": len(ids),
                "load_s": round(loaded_s, 1),
                "requests": args.requests,
                **measure(net, uscc, ids, args.requests),
            }
        finally:
            net.stop()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
