"""`swnode client certificate ...`: certificates across the border, from the command line.

certificate list    [--status S]                  yours (exporter), issued (issuing body),
                                                  received (importing window's agencies)
certificate show    --number N [--country CC]     status and full history
certificate verify  --number N --country CC       importing window: authentic or not
certificate decide  --number N --country CC --decision accept|reject|use
                    [--reason R] [--import-declaration ID]
certificate cancel  --number N --reason R         issuing body
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import grpc

from node.client.common import bearer, print_message
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import certificates_pb2_grpc as cgrpc

__all__ = ["DECISIONS", "add_subcommands", "describe", "run"]

DECISIONS = {
    "accept": cpb.CERTIFICATE_DECISION_ACCEPT,
    "reject": cpb.CERTIFICATE_DECISION_REJECT,
    "use": cpb.CERTIFICATE_DECISION_USE,
}


def add_subcommands(sub: Any) -> None:
    p = sub.add_parser("certificate", help="certificates of origin and phytosanitary certificates")
    actions = p.add_subparsers(dest="certificate_command", required=True, metavar="ACTION")
    for name, text in (
        ("list", "the certificates you may see"),
        ("show", "one certificate, with its status and history"),
        ("verify", "importing window: is it authentic, what is its status"),
        ("decide", "importing window: accept, reject or use a certificate"),
        ("cancel", "issuing body: cancel a certificate"),
    ):
        q = actions.add_parser(name, help=text)
        q.add_argument("--token", required=True)
        q.add_argument("--json", action="store_true")
        if name == "list":
            q.add_argument("--status", default="")
            continue
        q.add_argument("--number", required=True)
        if name != "cancel":
            q.add_argument("--country", default="", help="issuing country (default: this node's)")
        if name == "decide":
            q.add_argument("--decision", required=True, choices=sorted(DECISIONS))
            q.add_argument("--import-declaration", default="")
        if name in ("decide", "cancel"):
            q.add_argument("--reason", default="")


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def describe(r: cpb.CertificateRecord) -> str:
    c = r.certificate
    lines = [
        f"{c.number}  {cpb.CertificateKind.Name(c.kind).removeprefix('CERTIFICATE_KIND_').lower()}"
        f"  {r.status}  ({r.side}; {c.issuing_node} to {c.importing_country}, exporter "
        f"{c.exporter_uscc})"
    ]
    if r.replaced_by:
        lines.append(f"  replaced by {r.replaced_by}")
    lines += [
        f"  {_when(e.at_unix_ms)}  {e.status:<17} {e.node:<6} {e.actor}"
        + (f"  {e.note}" if e.note else "")
        for e in r.history
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace, channel: grpc.Channel) -> int:
    stub = cgrpc.CertificatesStub(channel)
    meta = bearer(args.token)
    action = args.certificate_command
    if action == "list":
        listed = stub.ListCertificates(
            cpb.ListCertificatesRequest(status=args.status), metadata=meta, timeout=10
        )
        print_message(listed, args.json, lambda r: "\n\n".join(describe(c) for c in r.certificates))
        return 0
    ref = cpb.CertificateRef(number=args.number, issuing_country=getattr(args, "country", ""))
    if action == "show":
        print_message(stub.GetCertificate(ref, metadata=meta, timeout=10), args.json, describe)
    elif action == "verify":
        v = stub.VerifyCertificate(ref, metadata=meta, timeout=10)
        print_message(
            v,
            args.json,
            lambda v: (
                ("AUTHENTIC" if v.authentic else "NOT AUTHENTIC")
                + f": {v.reason}"
                + (f"\n{describe(v.record)}" if v.record.certificate.number else "")
            ),
        )
        return 0 if v.authentic else 2
    elif action == "decide":
        decided = stub.DecideCertificate(
            cpb.DecideCertificateRequest(
                certificate=ref,
                decision=DECISIONS[args.decision],
                reason=args.reason,
                import_declaration=args.import_declaration,
            ),
            metadata=meta,
            timeout=10,
        )
        print_message(decided, args.json, describe)
    else:
        cancelled = stub.CancelCertificate(
            cpb.CancelCertificateRequest(number=args.number, reason=args.reason),
            metadata=meta,
            timeout=10,
        )
        print_message(cancelled, args.json, describe)
    return 0
