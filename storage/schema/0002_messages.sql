-- Signed messages between nodes: the outbox (one delivery queue per next hop), the inbox, the
-- receipts kept as evidence, and each peer's persisted backoff.

CREATE TABLE outbox (
    seq {serial_pk},
    message_id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    recipient TEXT NOT NULL,
    next_hop TEXT NOT NULL,
    document_type TEXT NOT NULL,
    envelope {blob} NOT NULL,
    header_sha256 {blob} NOT NULL,
    payload_size {bigint} NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at_unix_ms {bigint} NOT NULL,
    expires_at_unix_ms {bigint} NOT NULL,
    updated_at_unix_ms {bigint} NOT NULL,
    next_attempt_at_unix_ms {bigint} NOT NULL,
    claimed_by TEXT,
    claim_expires_at_unix_ms {bigint},
    sent_by TEXT
);
-- The per-peer queue: what is waiting for each next hop, oldest first.
CREATE INDEX outbox_pending ON outbox (next_hop, seq) WHERE status IN ('queued', 'failed');
-- Claims whose replica died: taken over once the lease has passed.
CREATE INDEX outbox_in_flight ON outbox (next_hop, claim_expires_at_unix_ms) WHERE status = 'sent';
-- Listing by status for operators (`swnode messages --status dead`).
CREATE INDEX outbox_status ON outbox (status, seq);

CREATE TABLE inbox (
    seq {serial_pk},
    message_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    previous_hop TEXT NOT NULL,
    recipient TEXT NOT NULL,
    document_type TEXT NOT NULL,
    envelope {blob} NOT NULL,
    header_sha256 {blob} NOT NULL,
    payload_size {bigint} NOT NULL,
    -- The receipt this node gave; given again, unchanged, if the message arrives again.
    receipt {blob} NOT NULL,
    -- 'received' (for this node), 'processed' (handled by this node), 'relayed' (passed on)
    status TEXT NOT NULL,
    received_at_unix_ms {bigint} NOT NULL,
    -- A message is its origin's: one node cannot spend another's message ids.
    UNIQUE (origin, message_id)
);
CREATE INDEX inbox_status ON inbox (status, seq);
CREATE INDEX inbox_message ON inbox (message_id);

-- Earlier sealings of a message that was redriven: a receipt for one of them still proves
-- delivery, and evidence needs the header it was given for.
CREATE TABLE outbox_versions (
    message_id TEXT NOT NULL,
    header_sha256 {blob} NOT NULL,
    envelope {blob} NOT NULL,
    replaced_at_unix_ms {bigint} NOT NULL,
    PRIMARY KEY (message_id, header_sha256)
);

-- Receipts for messages this node sent or relayed: hop receipts from the next hop and delivery
-- receipts from the final recipient.
CREATE TABLE receipts (
    message_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    issuer TEXT NOT NULL,
    receipt {blob} NOT NULL,
    received_at_unix_ms {bigint} NOT NULL,
    PRIMARY KEY (message_id, kind, issuer)
);

-- Each destination's backoff, shared by every replica and kept across restarts.
CREATE TABLE peer_state (
    peer TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    retry_at_unix_ms {bigint} NOT NULL DEFAULT 0,
    last_error TEXT,
    last_success_at_unix_ms {bigint}
);

-- Messages still waiting whose expiry passes are moved to dead by a periodic sweep.
CREATE INDEX outbox_expiry ON outbox (expires_at_unix_ms) WHERE status IN ('queued', 'failed', 'sent');
