"""The `swnode` command line. Each command parses its arguments and calls one function elsewhere;
errors are printed as one line a person can act on, with exit status 2 for a refusal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import SwnodeError
from core.ids import Role

__all__ = ["build_parser", "main"]


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def cmd_init(args: argparse.Namespace) -> int:
    from node.operator.admin import InitOptions, init_node

    config = asyncio.run(
        init_node(
            InitOptions(
                node_dir=args.dir,
                node_id=args.id,
                role=Role(args.role),
                host=args.host,
                peer_port=args.peer_port,
                client_port=args.client_port,
                ops_port=args.ops_port,
                web_port=args.web_port,
                poll_interval_s=args.poll_interval,
                directory_validity_s=args.directory_validity,
                storage_url=args.storage,
                crypto=args.crypto,
            )
        )
    )
    print(f"initialised {config.role.value} node {config.id} in {config.dir}")
    print(f"  peer {config.peer_endpoint}  client {config.client_endpoint}  ops {config.ops_url}")
    print(f"  portal {config.web_url}")
    if config.is_central:
        print(f"next: swnode run --dir {config.dir}")
    else:
        print(
            "next: ask the central operator for an invitation (swnode invite --id "
            f"{config.id}), then swnode enroll --dir {config.dir} --central HOST:PORT --token TOKEN"
        )
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    from node.operator.admin import invite

    invitation = asyncio.run(invite(args.dir, args.id, args.ttl))
    print(invitation.encode())
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    from node.operator.admin import enroll_node

    directory = asyncio.run(enroll_node(args.dir, args.central, args.token))
    print(
        f"enrolled with {directory.federation}: directory v{directory.version}, "
        f"{len(directory.nodes)} nodes; next: swnode run --dir {args.dir}"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from node.config import load_config
    from node.gc_tuning import settle_gc
    from node.runtime import run_node

    config = load_config(args.dir)
    ports = {
        "peer_port": args.peer_port,
        "client_port": args.client_port,
        "ops_port": args.ops_port,
        "web_port": args.web_port,
    }
    config = replace(config, **{k: v for k, v in ports.items() if v is not None})
    _setup_logging(config.log_level, config.log_path, fmt=config.log_format, node_id=config.id)
    settle_gc()
    asyncio.run(run_node(config))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from node.operator.status import render, status

    data = asyncio.run(status(args.dir))
    if args.json:
        _print_json(data)
    else:
        print(render(data))
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from node.operator.admin import revoke

    version = asyncio.run(revoke(args.dir, args.id, args.reason))
    print(
        f"revoked {args.id}: directory v{version} published; every node refuses it once it has "
        "polled (within one poll interval)"
    )
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    from node.operator.admin import parse_duration
    from node.operator.rotation import rotate

    def seconds(text: str | None, field: str) -> float | None:
        return parse_duration(text, field=field) if text else None

    done = asyncio.run(
        rotate(
            args.dir,
            args.key,
            retire_now=args.now,
            overlap_s=seconds(args.overlap, "overlap"),
            activation_s=seconds(args.activation, "activation"),
        )
    )
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(done.old_retired_at_unix_ms / 1000))
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(done.not_before_unix_ms / 1000))
    print(f"new {args.key} key {done.key_id}: directory v{done.directory_version}")
    verb = "retired" if args.now else "retire"
    print(f"  in use from {start}; the keys it replaces {verb} at {when}")
    if done.ca_fingerprint:
        print(f"  new CA certificate SHA-256 {done.ca_fingerprint}")
    if done.anchor_fingerprint:
        print(f"  new anchor fingerprint {done.anchor_fingerprint}")
        print("  trusting federations follow on their own; give them it for their records")
    return 0


def cmd_anchor_export(args: argparse.Namespace) -> int:
    from node.operator.admin import export_anchor

    fp = asyncio.run(export_anchor(args.dir, args.out))
    print(f"wrote {args.out}")
    print(f"fingerprint {fp}")
    print("give the file to the other operator, and the fingerprint over a separate channel")
    return 0


def cmd_trust_add(args: argparse.Namespace) -> int:
    from node.operator.admin import trust_add

    federation, version = asyncio.run(trust_add(args.dir, args.anchor, args.fingerprint))
    print(
        f"trusting federation {federation}: directory v{version} published; its directory is "
        "fetched on the next poll, once its operator trusts ours too"
    )
    return 0


def cmd_trust_remove(args: argparse.Namespace) -> int:
    from node.operator.admin import trust_remove

    version = asyncio.run(trust_remove(args.dir, args.federation))
    print(f"no longer trusting {args.federation}: directory v{version} published")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from node.config import load_config
    from node.operator.admin import open_db
    from storage.migrations import current_version

    async def go() -> int:
        db = await open_db(load_config(args.dir))
        try:
            return await current_version(db.engine)
        finally:
            await db.close()

    print(f"schema at version {asyncio.run(go())}")
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    from node.client.common import read_file_bytes
    from node.operator.admin import parse_duration
    from node.operator.messaging import send

    payload = read_file_bytes(args.file)
    ttl_s = parse_duration(args.ttl, field="ttl") if args.ttl else None
    message_id = asyncio.run(send(args.dir, args.to, args.type, payload, ttl_s))
    if args.json:
        _print_json({"message_id": message_id, "status": "queued"})
    else:
        print(message_id)
    return 0


def cmd_messages(args: argparse.Namespace) -> int:
    from node.operator.messaging import messages

    rows = asyncio.run(
        messages(args.dir, direction=args.direction, status=args.status, limit=args.limit)
    )
    if args.json:
        _print_json(rows)
        return 0
    print(f"{'message id':<36}  {'dir':<5} {'peer':<6} {'type':<24} {'status':<12} tries  updated")
    for r in rows:
        print(
            f"{r['message_id']:<36}  {r['direction']:<5} {r['peer']:<6} {r['document_type']:<24} "
            f"{r['status']:<12} {r['attempts']:>5}  {r['updated_at']}"
            + (f"  {r['last_error']}" if r["last_error"] else "")
        )
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    from node.operator.messaging import redrive

    was = asyncio.run(redrive(args.dir, args.message_id))
    print(f"{args.message_id}: was {was}, queued again with fresh times")
    return 0


def cmd_receipt(args: argparse.Namespace) -> int:
    from node.operator.messaging import evidence_json, export_evidence

    text = evidence_json(asyncio.run(export_evidence(args.dir, args.message_id)))
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}; check it with swnode verify-receipt --anchor FILE {args.out}")
    else:
        print(text, end="")
    return 0


def cmd_verify_receipt(args: argparse.Namespace) -> int:
    from node.operator.messaging import verify_evidence_file

    result = verify_evidence_file(args.anchor, args.receipt_file)
    if args.json:
        data = {
            "ok": True,
            "message_id": result.message_id,
            "sender": result.sender,
            "recipient": result.recipient,
            "document_type": result.document_type,
            "delivered": result.delivered,
            "receipts": [
                {"issuer": r.issuer, "kind": r.kind, "received_at_unix_ms": r.received_at_unix_ms}
                for r in result.receipts
            ],
            "directories": [{"federation": f, "version": v} for f, v in result.directories],
        }
        _print_json(data)
        return 0
    print(f"message   {result.message_id} ({result.document_type})")
    print(f"from      {result.sender} to {result.recipient}")
    for r in result.receipts:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.received_at_unix_ms / 1000))
        print(f"receipt   {r.kind:<8} signed by {r.issuer} at {when}: verified")
    print(
        "verdict   "
        + (
            "delivered to its recipient"
            if result.delivered
            else "no delivery receipt from the recipient"
        )
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from node.devnet import openloop
    from node.devnet.bench import main_cli

    payload_bytes = openloop.parse_payload(args.payload) if args.payload else args.payload_bytes
    if args.rate is not None or args.sweep is not None:
        return openloop.main_cli(
            rate=args.rate,
            duration_s=args.duration,
            sweep_out=args.sweep,
            payload_bytes=payload_bytes,
            messages=args.messages,
            crypto=args.crypto,
        )
    return main_cli(args.messages, payload_bytes, args.storage, crypto=args.crypto)


def cmd_client(args: argparse.Namespace) -> int:
    from node.client import commands

    return commands.main(args)


def cmd_party_add(args: argparse.Namespace) -> int:
    from node.operator.parties import add_party

    user, password = asyncio.run(
        add_party(args.dir, args.id, args.kind, args.name, _csv(args.roles), args.user)
    )
    party = args.id
    if args.json:
        _print_json({"party": party, "user": f"{party}/{user}", "password": password})
    else:
        print(
            f"party {party} ({args.kind}) added; log in as {party}/{user} with password {password}"
        )
    return 0


def cmd_party_suspend(args: argparse.Namespace) -> int:
    from node.operator.parties import suspend

    asyncio.run(suspend(args.dir, args.id, resume=args.party_command == "resume"))
    print(f"{args.id}: {'active again' if args.party_command == 'resume' else 'suspended'}")
    return 0


def _csv(text: str) -> tuple[str, ...]:
    return tuple(r.strip() for r in text.split(",") if r.strip())


def cmd_catalog(args: argparse.Namespace) -> int:
    from node.operator import catalog

    return catalog.main(args)


def cmd_devnet(args: argparse.Namespace) -> int:
    from node.devnet import cli

    return cli.main(args)


def _setup_logging(
    level: str, path: Path | None = None, *, fmt: str = "text", node_id: str = ""
) -> None:
    from node.logs import setup_logging

    setup_logging(level, path, fmt=fmt, node_id=node_id)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swnode", description="Federated node for International Trade Single Windows."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = command("init", cmd_init, "create a node folder: config, keys (and for a central, its CA)")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--id", required=True, help="CN for a central node, CN-GD for a province")
    p.add_argument("--role", choices=["central", "province"], required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--peer-port", type=int)
    p.add_argument("--client-port", type=int)
    p.add_argument("--ops-port", type=int)
    p.add_argument("--web-port", type=int, help="the portal's port (default: a free one)")
    p.add_argument("--poll-interval", type=float, help="seconds between directory polls")
    p.add_argument("--directory-validity", type=float, help="central: seconds a directory is valid")
    p.add_argument("--storage", help="storage URL (default sqlite:///node.db in the folder)")
    p.add_argument(
        "--crypto",
        choices=["ed25519", "sm2"],
        default="ed25519",
        help="the federation's crypto profile: ed25519 (Ed25519/SHA-256) or sm2 (SM2/SM3); "
        "a province takes its federation's",
    )

    p = command("invite", cmd_invite, "central: print a one-time enrolment token for a province")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--ttl", default="1h", help="how long the token stays valid (default 1h)")

    p = command("enroll", cmd_enroll, "province: join the federation with an invitation")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--central", required=True, help="HOST:PORT of the central node's client port")
    p.add_argument("--token", required=True)

    p = command("run", cmd_run, "run the node in the foreground; SIGTERM stops it cleanly")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument(
        "--ops-port", type=int, help="listen for ops here instead (a second replica on one host)"
    )
    p.add_argument("--peer-port", type=int, help="listen on this peer port instead")
    p.add_argument("--client-port", type=int, help="listen on this client port instead")
    p.add_argument("--web-port", type=int, help="serve the portal on this port instead")

    p = command("status", cmd_status, "what the node holds and who it can reach")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--json", action="store_true")

    p = command("revoke", cmd_revoke, "central: revoke a member node")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--reason", default="revoked by the central operator")

    p = command("rotate", cmd_rotate, "a new signing, token or TLS key, overlapping the old one")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--key", required=True, choices=["signing", "token", "tls", "directory", "ca"])
    p.add_argument(
        "--now", action="store_true", help="retire the old key at once (suspected compromise)"
    )
    p.add_argument("--overlap", help="how long the old key stays accepted (default 1d)")
    p.add_argument(
        "--activation", help="how long before use the new key is published (two poll intervals)"
    )

    p = command("anchor", lambda a: 2, "this federation's anchor, for foreign operators")
    anchor_sub = p.add_subparsers(dest="anchor_command", required=True, metavar="ACTION")
    q = anchor_sub.add_parser("export", help="write the anchor file and print its fingerprint")
    q.set_defaults(func=cmd_anchor_export)
    q.add_argument("--dir", type=Path, required=True)
    q.add_argument("--out", type=Path, required=True)

    p = command("trust", lambda a: 2, "trust between federations")
    trust_sub = p.add_subparsers(dest="trust_command", required=True, metavar="ACTION")
    q = trust_sub.add_parser(
        "add", help="trust a foreign federation's anchor, checked by fingerprint"
    )
    q.set_defaults(func=cmd_trust_add)
    q.add_argument("--dir", type=Path, required=True)
    q.add_argument("--anchor", type=Path, required=True)
    q.add_argument("--fingerprint", required=True)
    q = trust_sub.add_parser("remove", help="stop trusting a foreign federation")
    q.set_defaults(func=cmd_trust_remove)
    q.add_argument("--dir", type=Path, required=True)
    q.add_argument("--federation", required=True)

    p = command("migrate", cmd_migrate, "bring the node's database schema up to date")
    p.add_argument("--dir", type=Path, required=True)

    p = command("send", cmd_send, "queue a document for another node; prints its message id")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--to", required=True, help="recipient node id")
    p.add_argument("--type", required=True, help="document type, e.g. certificate.origin")
    p.add_argument("--file", type=Path, required=True, help="payload file, or - for stdin")
    p.add_argument("--ttl", help="how long delivery may take before the message is dead")
    p.add_argument("--json", action="store_true")

    p = command("messages", cmd_messages, "messages sent, passed on and received, newest first")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--direction", choices=["in", "out", "relay"])
    p.add_argument(
        "--status",
        choices=[
            "queued",
            "sent",
            "acknowledged",
            "delivered",
            "failed",
            "dead",
            "received",
            "processed",
            "relayed",
        ],
    )
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")

    p = command("redrive", cmd_redrive, "send a dead or failing message again")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("message_id")

    p = command("receipt", cmd_receipt, "export a message's receipts as evidence")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("message_id")
    p.add_argument("--out", type=Path)

    p = command("verify-receipt", cmd_verify_receipt, "check evidence offline against an anchor")
    p.add_argument("--anchor", type=Path, required=True)
    p.add_argument("receipt_file", type=Path)
    p.add_argument("--json", action="store_true")

    p = command("bench", cmd_bench, "measure message throughput between two nodes")
    p.add_argument("--messages", type=int, default=20_000)
    p.add_argument("--payload-bytes", type=int, default=1024)
    p.add_argument(
        "--storage", help="a PostgreSQL URL; each node gets its own schema there (default: SQLite)"
    )
    p.add_argument(
        "--crypto", choices=["ed25519", "sm2"], default="ed25519", help="the nodes' crypto profile"
    )
    p.add_argument("--payload", choices=["1k", "64k", "1m"], help="payload size (1 KiB to 1 MiB)")
    p.add_argument("--rate", type=float, help="open loop: messages offered per second")
    p.add_argument("--duration", type=float, default=10.0, help="open loop: seconds offered")
    p.add_argument(
        "--sweep", type=Path, metavar="FILE", help="a series of rates; the table written to FILE"
    )

    p = command("client", cmd_client, "call a node's client API (identity, documents, ...)")
    from node.client.commands import add_arguments as client_arguments

    client_arguments(p)

    p = command("agency", lambda a: 2, "agencies of this node")
    agency_sub = p.add_subparsers(dest="party_command", required=True, metavar="ACTION")
    q = agency_sub.add_parser("add", help="add an agency with one user; prints the password")
    q.set_defaults(func=cmd_party_add, kind="agency", roles="")
    q.add_argument("--dir", type=Path, required=True)
    q.add_argument("--id", required=True, help="e.g. customs, inspection, ccpit")
    q.add_argument("--name", required=True)
    q.add_argument("--user", default="officer", help="the first user's name (default officer)")
    q.add_argument("--json", action="store_true")

    p = command("party", lambda a: 2, "parties of this node: agencies and logistics operators")
    party_sub = p.add_subparsers(dest="party_command", required=True, metavar="ACTION")
    q = party_sub.add_parser("add", help="add a party with one user; prints the password")
    q.set_defaults(func=cmd_party_add)
    q.add_argument("--dir", type=Path, required=True)
    q.add_argument("--id", required=True, help="e.g. customs, yangshan-terminal")
    q.add_argument(
        "--kind", required=True, choices=["agency", "terminal", "airport", "rail", "road"]
    )
    q.add_argument("--name", required=True)
    q.add_argument("--roles", default="", help="comma-separated roles of the party")
    q.add_argument("--user", default="operator", help="the first user's name (default operator)")
    q.add_argument("--json", action="store_true")
    for action, text in (
        ("suspend", "suspend a party: every node refuses its tokens"),
        ("resume", "make a suspended party active again"),
    ):
        q = party_sub.add_parser(action, help=text)
        q.set_defaults(func=cmd_party_suspend)
        q.add_argument("--dir", type=Path, required=True)
        q.add_argument("--id", required=True)

    p = command("operator", lambda a: 2, "operators of this node's console")
    from node.operator.operators import add_arguments as operator_arguments

    operator_arguments(p)

    p = command("catalog", cmd_catalog, "the data element catalog, generated from the protos")
    from node.operator.catalog import add_arguments as catalog_arguments

    catalog_arguments(p)

    from conformance.runner import add_arguments as conformance_arguments

    conformance_arguments(command("conformance", lambda a: 2, "check a node against PROTOCOL.md"))

    p = command("devnet", cmd_devnet, "a local test network of nodes, one process each")
    from node.devnet.cli import add_arguments

    add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except SwnodeError as exc:
        print(f"swnode {args.command}: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
