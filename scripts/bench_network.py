"""A whole test network brought up in a temporary folder, measured and taken down again
(node/devnet/netbench.py says what is measured). The last line printed is JSON.

    scripts/bench-network [--provinces N] [--foreign M] [--idle S] [--samples K] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node.devnet.netbench import main_cli


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench-network", description=__doc__)
    parser.add_argument("--provinces", type=int, default=4, help="CN's provinces (up to 31)")
    parser.add_argument("--foreign", type=int, default=1, help="foreign windows (SG first)")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle measured")
    parser.add_argument("--samples", type=int, default=20, help="declarations, queries timed")
    parser.add_argument(
        "--poll-interval", type=float, default=10.0, help="directory poll interval of every node"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON figures to this file")
    args = parser.parse_args()
    return main_cli(
        provinces=args.provinces,
        foreign=args.foreign,
        idle_s=args.idle,
        samples=args.samples,
        poll_interval_s=args.poll_interval,
        out=args.out,
    )


if __name__ == "__main__":
    sys.exit(main())
