"""Federation: how nodes reach, trust and keep up with each other.

- `tls`: credentials for the peer port (mutual TLS, trust bundle follows the directory) and for
  calls to peers (each peer must present exactly the certificate its directory lists, with its
  `<id>.swnode` name; a CA only for a first directory fetch).
- `channels`: one gRPC channel per peer, rebuilt when the directory changes its endpoint or
  listed certificate; `peer.certificate_mismatch` when a server presents another.
- `tasks`: the group that owns every asyncio task a node starts (logged, restarted, awaited).
- `directory_sync`: keeps the node's copy of its federation's directory, and the directories of
  trusted foreign federations, fresh and verified; the trust view every request consults is built
  from them.
- `reachability`: probes direct neighbours, for status and metrics.
"""
