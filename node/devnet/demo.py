"""`swnode devnet demo`: the whole story on a running test network, as a readable timeline.

An enterprise registers at CN-GD; its user logs in at CN-SH with the same identity; submits an
export goods declaration and a certificate of origin application there; the agencies decide (the
simulator); the certificate goes to SG through CN; SG's customs verifies it, accepts it and uses
it against an import declaration; the statuses come back to CN-SH. Every step is checked, and
with --json the last line says `"ok": true` only if every step happened as expected.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import grpc

from core.documents import parse_json, wrap
from node.client.common import bearer
from node.config import load_config
from node.devnet.network import Devnet
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import certificates_pb2_grpc as cgrpc
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import declarations_pb2_grpc as dgrpc
from swf.v1 import identity_pb2 as ipb
from swf.v1 import identity_pb2_grpc as igrpc

__all__ = ["ENTERPRISE", "EXAMPLES", "Demo", "Step", "main"]

T = TypeVar("T")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ENTERPRISE = "91440300MA5G1234XY"  # the exporter of examples/
USER, PASSWORD = "alice", "demo passphrase 2026"


@dataclass
class Step:
    step: str
    node: str
    status: str
    ok: bool
    detail: str = ""
    at: str = field(default_factory=lambda: datetime.now(tz=UTC).strftime("%H:%M:%S.%f")[:-3])


class Demo:
    def __init__(self, root: Path, *, quiet: bool) -> None:
        self.net = Devnet(root)
        self.quiet = quiet
        self.steps: list[Step] = []
        self._channels: dict[str, grpc.Channel] = {}

    def channel(self, node: str) -> grpc.Channel:
        if node not in self._channels:
            node_dir = self.net.node_dir(node)
            ca = (node_dir / "keys" / "ca.crt").read_bytes()
            self._channels[node] = grpc.secure_channel(
                load_config(node_dir).client_endpoint, grpc.ssl_channel_credentials(ca)
            )
        return self._channels[node]

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()

    def record(self, step: str, node: str, status: str, ok: bool, detail: str = "") -> None:
        s = Step(step, node, status, ok, detail)
        self.steps.append(s)
        if not self.quiet:
            mark = "ok " if ok else "FAIL"
            print(
                f"{s.at}  {mark} {node:<6} {step:<46} {status}"
                + (f"  ({detail})" if detail else "")
            )
            sys.stdout.flush()

    def until(self, what: Callable[[], T], done: Callable[[T], bool], timeout_s: float = 60) -> T:
        deadline = time.monotonic() + timeout_s
        while True:
            value = what()
            if done(value) or time.monotonic() > deadline:
                return value
            time.sleep(0.3)

    # -- the story ---------------------------------------------------------------------------

    def run(self) -> bool:
        identity_gd = igrpc.IdentityStub(self.channel("CN-GD"))
        try:
            reg = identity_gd.RegisterEnterprise(
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
            status = ipb.RegistrationStatus.Name(reg.status).removeprefix("REGISTRATION_STATUS_")
            self.record(
                "enterprise registers",
                "CN-GD",
                status.lower(),
                reg.status == ipb.REGISTRATION_STATUS_ACTIVE,
                ENTERPRISE,
            )
        except grpc.RpcError as exc:
            already = exc.code() == grpc.StatusCode.ALREADY_EXISTS
            self.record(
                "enterprise registers",
                "CN-GD",
                "already registered" if already else "refused",
                already,
                ENTERPRISE,
            )
            if not already:
                return False

        # The same identity at another province.
        tokens = igrpc.IdentityStub(self.channel("CN-SH")).Login(
            ipb.LoginRequest(party=ENTERPRISE, user=USER, password=PASSWORD), timeout=30
        )
        meta = bearer(tokens.access_token)
        who = igrpc.IdentityStub(self.channel("CN-SH")).WhoAmI(
            ipb.WhoAmIRequest(), metadata=meta, timeout=10
        )
        self.record(
            "user logs in with the same identity",
            "CN-SH",
            f"home {who.home_node}",
            who.home_node == "CN-GD",
            who.subject,
        )

        declarations = dgrpc.DeclarationsStub(self.channel("CN-SH"))

        def submit(type_name: str) -> dpb.Declaration:
            document = wrap(parse_json(type_name, (EXAMPLES / f"{type_name}.json").read_text()))
            d: dpb.Declaration = declarations.Submit(
                dpb.SubmitRequest(document=document), metadata=meta, timeout=30
            )
            return d

        def settle(d: dpb.Declaration) -> dpb.Declaration:
            got: dpb.Declaration = self.until(
                lambda: declarations.GetDeclaration(
                    dpb.GetDeclarationRequest(id=d.id), metadata=meta, timeout=10
                ),
                lambda x: x.status in ("cleared", "approved", "rejected"),
            )
            return got

        goods = submit("goods_declaration")
        self.record(
            "export goods declaration submitted",
            "CN-SH",
            goods.status,
            goods.status == "under_review",
            goods.id,
        )
        goods = settle(goods)
        deciders = ", ".join(f"{r.agency}: {r.status}" for r in goods.reviews)
        self.record(
            "agencies decide the goods declaration",
            "CN-SH",
            goods.status,
            goods.status == "cleared",
            deciders,
        )

        application = submit("certificate_of_origin_application")
        self.record(
            "certificate of origin application",
            "CN-SH",
            application.status,
            application.status == "under_review",
            application.id,
        )
        application = settle(application)
        self.record(
            "issuing body approves the application",
            "CN-SH",
            application.status,
            application.status == "approved",
        )

        issuer_view = cgrpc.CertificatesStub(self.channel("CN-SH"))

        def mine() -> cpb.CertificateRecord | None:
            listed = issuer_view.ListCertificates(
                cpb.ListCertificatesRequest(), metadata=meta, timeout=10
            )
            return next(
                (c for c in listed.certificates if c.certificate.application_id == application.id),
                None,
            )

        issued = self.until(mine, lambda c: c is not None, 10)
        if issued is None:
            self.record("certificate issued", "CN-SH", "missing", False)
            return False
        number = issued.certificate.number
        self.record("certificate of origin issued", "CN-SH", issued.status, True, number)
        delivered = self.until(mine, lambda c: c is not None and c.status != "pending_delivery")
        status = delivered.status if delivered else "missing"
        self.record(
            "certificate delivered to SG through CN",
            "CN-SH",
            status,
            status == "delivered",
            "end-to-end receipt from SG",
        )

        # SG's customs, at the importing window.
        user, password = self.net.agency_login("SG", "customs")
        party, _, name = user.partition("/")
        sg_tokens = igrpc.IdentityStub(self.channel("SG")).Login(
            ipb.LoginRequest(party=party, user=name, password=password), timeout=30
        )
        sg_meta = bearer(sg_tokens.access_token)
        sg = cgrpc.CertificatesStub(self.channel("SG"))
        ref = cpb.CertificateRef(number=number, issuing_country="CN")
        check = sg.VerifyCertificate(ref, metadata=sg_meta, timeout=10)
        self.record(
            "SG verifies the certificate",
            "SG",
            "authentic" if check.authentic else "NOT authentic",
            check.authentic,
            f"signed by {check.signed_by}",
        )
        accepted = sg.DecideCertificate(
            cpb.DecideCertificateRequest(certificate=ref, decision=cpb.CERTIFICATE_DECISION_ACCEPT),
            metadata=sg_meta,
            timeout=10,
        )
        self.record("SG customs accepts it", "SG", accepted.status, accepted.status == "accepted")
        used = sg.DecideCertificate(
            cpb.DecideCertificateRequest(
                certificate=ref,
                decision=cpb.CERTIFICATE_DECISION_USE,
                import_declaration="SG-IMP-2026-0001",
            ),
            metadata=sg_meta,
            timeout=10,
        )
        self.record(
            "SG customs uses it for an import",
            "SG",
            used.status,
            used.status == "used",
            "SG-IMP-2026-0001",
        )

        back = self.until(mine, lambda c: c is not None and c.status == "used")
        status = back.status if back else "missing"
        self.record(
            "the answer comes back to the exporter", "CN-SH", status, status == "used", number
        )
        return all(s.ok for s in self.steps)


def main(root: Path, *, as_json: bool) -> int:
    demo = Demo(root, quiet=as_json)
    try:
        ok = demo.run()
    except grpc.RpcError as exc:
        demo.record("unexpected refusal", "-", exc.code().name, False, exc.details() or "")
        ok = False
    finally:
        demo.close()
    if as_json:
        result: dict[str, Any] = {"ok": ok, "steps": [s.__dict__ for s in demo.steps]}
        print(json.dumps(result))
    else:
        print(
            "demo: "
            + ("every step happened as expected" if ok else "a step did not happen as expected")
        )
    return 0 if ok else 1
