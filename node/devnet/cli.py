"""`swnode devnet`: bring a local test network up, show it, stop it, and run the demo on it
(node/devnet/network.py builds and runs the network, node/devnet/demo.py tells the story)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import InvalidArgument
from node.devnet.demo import main as demo
from node.devnet.network import Devnet, Settings

__all__ = ["add_arguments", "main", "render_table", "usage_hint"]


def render_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'node':<7} {'role':<9} {'pid':>7}  {'state':<11} {'peer':<17} {'client':<17} "
        f"{'ops':<23} portal"
    ]
    for r in rows:
        state = "healthy" if r["healthy"] else ("running" if r["running"] else "stopped")
        lines.append(
            f"{r['id']:<7} {r['role']:<9} {r['pid'] or '-':>7}  {state:<11} "
            f"{r['endpoints']['peer']:<17} {r['endpoints']['client']:<17} "
            f"{r['endpoints']['ops']:<23} {r['endpoints'].get('web') or '-'}"
        )
    return "\n".join(lines)


def usage_hint(root: Path) -> str:
    rows = [
        (f"swnode status --dir {root}/CN-GD", "what a node holds and who it reaches"),
        (f"swnode devnet status --dir {root} [--json]", "this table"),
        (f"swnode devnet demo --dir {root}", "the whole story: declare, certify, cross the border"),
        (f"swnode client --devnet {root} --at CN-GD ...", "the client API (see README)"),
        (f"swnode devnet stop --dir {root} --node CN-SH", "stop one node (start brings it back)"),
        (f"swnode devnet down --dir {root}", "stop every node (`up` starts them again)"),
        ("curl http://127.0.0.1:<ops port>/metrics", "a node's Prometheus metrics"),
    ]
    width = max(len(command) for command, _ in rows) + 2
    return "\n".join(
        [
            "",
            "Each node is one process; its folder holds node.toml, keys/, node.db and node.log.",
            f"swnode is {Path(sys.executable).parent / 'swnode'}. Agencies' passwords (test "
            "network only) are in each node's agency-credentials.json.",
            *(f"  {command:<{width}}{what}" for command, what in rows),
        ]
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="devnet_command", required=True, metavar="ACTION")
    p = sub.add_parser("up", help="create (or start again) a test network and wait until it serves")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--provinces", type=int, default=2)
    p.add_argument("--foreign", type=int, default=1)
    p.add_argument(
        "--foreign-provinces", action="store_true", help="give each foreign federation a province"
    )
    p.add_argument(
        "--crypto",
        choices=["ed25519", "sm2"],
        default="ed25519",
        help="CN's federation's crypto profile (foreign federations stay ed25519)",
    )
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("status", help="every node of the network: pid, health, ports")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--json", action="store_true")
    for name, text in (("stop", "stop all nodes, or one"), ("start", "start stopped nodes again")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--dir", type=Path, required=True)
        p.add_argument("--node")
    p = sub.add_parser("down", help="stop every node (the folder stays; `up` starts it again)")
    p.add_argument("--dir", type=Path, required=True)
    p = sub.add_parser("demo", help="run the whole story on the network, as a timeline")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument(
        "--json", action="store_true", help="last line: one JSON object, ok true or false"
    )


def main(args: argparse.Namespace) -> int:
    import asyncio

    net = Devnet(args.dir)
    action = args.devnet_command
    if action == "up":
        if net.exists():
            started = net.start()
            if started:
                print(f"starting {', '.join(started)}", file=sys.stderr)
        else:
            print(
                f"creating a test network in {net.root}: CN, {args.provinces} provinces, "
                f"{args.foreign} foreign",
                file=sys.stderr,
            )
            settings = Settings(foreign_provinces=args.foreign_provinces, crypto=args.crypto)
            asyncio.run(net.create(args.provinces, args.foreign, settings))
            net.start()
        net.wait_healthy()
        rows = net.status()
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print(render_table(rows))
            print(usage_hint(net.root))
        return 0
    if action == "status":
        rows = net.status()
        print(json.dumps(rows, indent=2) if args.json else render_table(rows))
        return 0
    if action == "stop":
        print(f"stopped: {', '.join(net.stop(args.node)) or 'nothing was running'}")
        return 0
    if action == "start":
        started = net.start(args.node)
        net.wait_healthy(started or None)
        print(f"started: {', '.join(started) or 'everything was running'}")
        return 0
    if action == "demo":
        net.wait_healthy(timeout_s=30)
        return demo(net.root, as_json=args.json)
    if action == "down":
        print(f"stopped: {', '.join(net.stop()) or 'nothing was running'}")
        return 0
    raise InvalidArgument("devnet.action", f"unknown action {action}")
