"""Federation: how nodes reach, trust and keep up with each other, and exchange messages.

Connections and trust:
- `tls`: credentials for the peer port (mutual TLS, trust bundle follows the directory) and for
  calls to peers (each peer must present exactly the certificate its directory lists, with its
  `<id>.swnode` name; a CA only for a first directory fetch).
- `channels`: one gRPC channel per peer, rebuilt when the directory changes its endpoint or
  listed certificate; `peer.certificate_mismatch` when a server presents another.
- `directory_sync`: keeps the node's copy of its federation's directory, and the directories of
  trusted foreign federations, fresh and verified; the trust view every request consults is built
  from them.
- `reachability`: probes direct neighbours, for status and metrics.
- `tasks`: the group that owns every asyncio task a node starts (logged, restarted, awaited).

The message exchange (docs/PROTOCOL.md §5), pure decisions beside the I/O that carries them out:
- `outbox`: validates, seals (with the node's `core.signer.Signer`) and queues what this node
  sends, durably, before answering.
- `window` (pure): the sending window of an Exchange stream: frames to write, acks matched by
  position, what to requeue on a reset, and what each ack does to its message.
- `delivery`: one `PeerQueue` per next hop: claims from the outbox, writes frames, applies acks
  and backs off, around `window`.
- `inbound_plan` (pure): what a receiver does with each verified envelope of a frame: store,
  relay, answer a duplicate with its first receipt, or refuse.
- `inbound`: verifies a frame's envelopes, signs the receipts (the same signer), looks up what
  storage knows, and writes what `inbound_plan` decides, then answers.
- `dispatch`: hands received messages to the services that handle their document type.

Clients of other nodes' peer services:
- `registry_client`: the national registry at the central node, and logins forwarded home.
- `sharing_client`: logistics timelines and the data sharing pool, with signed queries.
- `statistics_client`: the provinces' figures, for a central answering for its federation.
"""
