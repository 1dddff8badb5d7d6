"""Draw docs/PERFORMANCE.md's charts from the measurements kept beside it (docs/perf/*.json):
the rate sweeps of `swnode bench --sweep` and the network runs of `scripts/bench-network --out`.

    scripts/plot-performance [--dir docs/perf]

Each chart is a small PNG in the same folder; a chart whose measurements are missing is skipped
and named on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the backend is chosen first

SIZE = (6.0, 3.4)
DPI = 80
PAYLOADS = (("1k", "1 KiB"), ("64k", "64 KiB"), ("1m", "1 MiB"))


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(f"wrote {path}")


def latency_against_load(folder: Path) -> None:
    fig, axes = plt.subplots(1, 1, figsize=SIZE)
    drawn = False
    for name, label in PAYLOADS[:2]:
        path = folder / f"sweep-{name}.json"
        if not path.exists():
            continue
        rows = sorted(_load(path)["rates"], key=lambda r: r["offered_per_s"])
        rates = [r["offered_per_s"] for r in rows]
        for key, style in (("p50_ms", "-o"), ("p99_ms", "--s"), ("p999_ms", ":^")):
            values = [r[key] for r in rows]
            axes.plot(rates, values, style, label=f"{label} {key.removesuffix('_ms')}")
        drawn = True
    if not drawn:
        print("no sweep-1k.json or sweep-64k.json: latency chart skipped", file=sys.stderr)
        plt.close(fig)
        return
    axes.set_xscale("log")
    axes.axhline(50, color="grey", linewidth=0.8, linestyle=":")
    axes.set_xlabel("offered load (messages/s, open loop)")
    axes.set_ylabel("send → receipt (ms)")
    axes.set_yscale("log")
    axes.legend(fontsize=7, ncol=2)
    axes.set_title("Latency against offered load")
    _save(fig, folder / "latency-vs-load.png")


def throughput_per_payload(folder: Path) -> None:
    rows = []
    for name, label in PAYLOADS:
        path = folder / f"sweep-{name}.json"
        if path.exists():
            sweep = _load(path)
            rows.append((label, sweep["closed_loop_msgs_per_s"], sweep["payload_bytes"]))
    if not rows:
        print("no sweeps: throughput chart skipped", file=sys.stderr)
        return
    fig, left = plt.subplots(1, 1, figsize=SIZE)
    labels = [r[0] for r in rows]
    left.bar(labels, [r[1] for r in rows], color="tab:blue")
    left.set_ylabel("messages/s (closed loop)")
    left.set_yscale("log")
    right = left.twinx()
    right.plot(labels, [r[1] * r[2] / 2**20 for r in rows], "o-", color="tab:orange")
    right.set_ylabel("MiB/s of payload", color="tab:orange")
    left.set_title("Throughput per payload size")
    _save(fig, folder / "throughput-per-payload.png")


def _networks(folder: Path) -> list[dict[str, Any]]:
    runs = [_load(p) for p in sorted(folder.glob("network-*.json"))]
    return sorted(runs, key=lambda r: r["nodes"])


def idle_against_nodes(folder: Path) -> None:
    runs = _networks(folder)
    if not runs:
        print("no network-*.json: idle chart skipped", file=sys.stderr)
        return
    fig, left = plt.subplots(1, 1, figsize=SIZE)
    for poll_s in sorted({r["poll_interval_s"] for r in runs}):
        group = [r for r in runs if r["poll_interval_s"] == poll_s]
        nodes = [r["nodes"] for r in group]
        mean = [r["idle"]["cpu_pct_per_node_mean"] for r in group]
        central = [r["idle"]["cpu_pct_central"] for r in group]
        left.plot(nodes, mean, "o-", label=f"mean node, poll {poll_s:g} s")
        left.plot(nodes, central, "s--", label=f"central CN, poll {poll_s:g} s")
    left.axhline(0.2, color="grey", linewidth=0.8, linestyle=":", label="aim: 0.2%")
    left.set_xlabel("nodes in the network")
    left.set_ylabel("idle CPU (% of one core)")
    left.legend(fontsize=6, loc="upper left")
    right = left.twinx()
    nodes = [r["nodes"] for r in runs]
    right.plot(nodes, [r["idle"]["rss_mib_per_node_mean"] for r in runs], "^:", color="tab:green")
    right.set_ylabel("RSS per node (MiB)", color="tab:green")
    left.set_title("Idle CPU and memory against the number of nodes")
    _save(fig, folder / "idle-vs-nodes.png")


def timeline_against_nodes(folder: Path) -> None:
    runs = _networks(folder)
    if not runs:
        print("no network-*.json: timeline chart skipped", file=sys.stderr)
        return
    nodes = [r["nodes"] for r in runs]
    fig, axes = plt.subplots(1, 1, figsize=SIZE)
    for key, style in (("p50_ms", "-o"), ("p99_ms", "--s")):
        axes.plot(nodes, [r["timeline_query_every_node"][key] for r in runs], style, label=key)
    axes.set_xlabel("nodes in the network")
    axes.set_ylabel("timeline query (ms)")
    axes.legend(fontsize=7)
    axes.set_title("A timeline query that asks every node")
    _save(fig, folder / "timeline-vs-nodes.png")


def tables(folder: Path) -> str:
    """The figures as Markdown tables, for docs/PERFORMANCE.md."""
    out = []
    runs = _networks(folder)
    if runs:
        out += [
            "| nodes | provinces, foreign | poll | load | healthy after | idle CPU/node mean (max) "
            "| central | RSS/node mean | enrolment → every node | revocation → every node "
            "| declaration → cleared p50/p99 | certificate → SG p50/p99 | timeline p50/p99 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in runs:
            i = r["idle"]
            d, t = r["declaration_submit_to_cleared"], r["timeline_query_every_node"]
            c = r.get("certificate_of_origin_to_sg_delivered") or {"p50_ms": "-", "p99_ms": "-"}
            out.append(
                f"| {r['nodes']} | {r['provinces']}, {r['foreign']} | {r['poll_interval_s']:g} s "
                f"| {r['load_average_1m']} | {r['time_to_healthy_s']} s "
                f"| {i['cpu_pct_per_node_mean']} % ({i['cpu_pct_per_node_max']} %) "
                f"| {i['cpu_pct_central']} % | {i['rss_mib_per_node_mean']} MiB "
                f"| {r['enrolment_to_every_node_ms'] / 1000:.1f} s "
                f"| {r['revocation_to_every_node_ms'] / 1000:.1f} s "
                f"| {d['p50_ms']} / {d['p99_ms']} ms | {c['p50_ms']} / {c['p99_ms']} ms "
                f"| {t['p50_ms']} / {t['p99_ms']} ms |"
            )
        out.append("")
    for name, label in PAYLOADS:
        path = folder / f"sweep-{name}.json"
        if not path.exists():
            continue
        sweep = _load(path)
        out += [
            f"{label}: closed-loop maximum {sweep['closed_loop_msgs_per_s']} msg/s, plain gRPC "
            f"{sweep['raw_grpc_msgs_per_s']} msg/s, ratio {sweep['ratio_to_raw_grpc']} "
            f"(load average {sweep.get('load_average_1m', '?')})",
            "",
            "| offered msg/s | p50 ms | p99 ms | p99.9 ms | messages |",
            "|---|---|---|---|---|",
            *(
                f"| {x['offered_per_s']} | {x['p50_ms']} | {x['p99_ms']} | {x['p999_ms']} "
                f"| {x['messages']} |"
                for x in sweep["rates"]
            ),
            "",
        ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/plot-performance", description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("docs/perf"))
    parser.add_argument("--tables", action="store_true", help="print the figures as Markdown")
    args = parser.parse_args()
    folder = args.dir
    if args.tables:
        print(tables(folder))
        return 0
    latency_against_load(folder)
    throughput_per_payload(folder)
    idle_against_nodes(folder)
    timeline_against_nodes(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
