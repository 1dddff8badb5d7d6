"""The node process, in rooms by role: servers/ (what the gRPC and ops ports serve), web/ (the
portal on the web port), operator/ (commands on a
node folder), client/ (`swnode client`), devnet/ (a local test network, its demo and the
benchmark). Here beside them: the `swnode` command (cli.py), node.toml (settings.py, config.py)
and the running node (runtime.py wires the parts; health.py, metrics.py, upkeep.py and
statistics.py are its own)."""
