"""Services: the single window's business, over storage and the peer exchange.

- `declarations`: one submission, every agency — validation, duty and tax, the work items of the
  agencies the routing names, amendment, and the declaration's status back to the declarant.
- `agency_work`: the agencies' side — work items claimed and decided, the declaration's status
  after each decision, a confirmed payment clearing its goods.
- `agencies`: the document-type policy read from the protos — who may submit, default agencies,
  whose document it is, which type is the goods declaration and which the payment.
- `declaration_records`: declarations, their history and work items as the API shows them.
- `certificates`: cross-border certificates, made of `certificate_issuing`,
  `certificate_receiving`, `certificate_decisions` and `certificate_messages` (the status
  messages between the windows), over `certificate_records` (records and reads).
- `logistics`: clearance and logistics events along the journey, and timelines across nodes.
- `sharing`: the data sharing pool — datasets, access requests and grants, signed peer queries.
- `statistics`: counts and clearance times, for a node and rolled up at the central node.
- `simulator`: a rule-based stand-in for agency staff, for test networks only (off by default).
- `watch_signal`: wakes the streams that watch declarations, work and timelines.
"""
