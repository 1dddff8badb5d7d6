"""A local test network and what runs on it: network.py builds and runs the nodes, demo.py tells
the whole story on them, bench.py measures two nodes, cli.py is `swnode devnet`."""
