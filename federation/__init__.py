"""Federation: how nodes reach, trust and keep up with each other.

- `tls`: credentials for the peer port (mutual TLS, trust bundle follows the directory) and for
  calls to peers (each peer checked against its own federation's CA and its `<id>.swnode` name).
- `channels`: one gRPC channel per peer, rebuilt when the directory changes its endpoint or keys.
- `directory_sync`: keeps the node's copy of its federation's directory, and the directories of
  trusted foreign federations, fresh and verified; the trust view every request consults is built
  from them.
- `reachability`: probes direct neighbours, for status and metrics.
"""
