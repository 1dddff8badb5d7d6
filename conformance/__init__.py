"""Conformance to docs/PROTOCOL.md for other implementations: language-neutral test vectors
(`conformance/vectors/`, made by `scripts/gen-vectors`) and `swnode conformance`, a runner that
plays a peer against a node on the wire (PROTOCOL.md §9)."""
