-- Declarations submitted at this node, their history, and the agencies' work on them.

CREATE TABLE declarations (
    id TEXT PRIMARY KEY,
    party_id TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    document_type TEXT NOT NULL,
    document {blob} NOT NULL,
    status TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    -- JSON of the duty and tax assessment (decimals as text), '' when none applies.
    assessment TEXT NOT NULL DEFAULT '',
    payment_due INTEGER NOT NULL DEFAULT 0,
    created_at_unix_ms {bigint} NOT NULL,
    updated_at_unix_ms {bigint} NOT NULL,
    decided_at_unix_ms {bigint}
);
CREATE INDEX declarations_party ON declarations (party_id, created_at_unix_ms);
CREATE INDEX declarations_created ON declarations (created_at_unix_ms);

CREATE TABLE declaration_events (
    seq {serial_pk},
    declaration_id TEXT NOT NULL REFERENCES declarations (id),
    transition TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    agency TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    at_unix_ms {bigint} NOT NULL
);
CREATE INDEX declaration_events_declaration ON declaration_events (declaration_id, seq);

CREATE TABLE work_items (
    id TEXT PRIMARY KEY,
    declaration_id TEXT NOT NULL REFERENCES declarations (id),
    agency TEXT NOT NULL,
    round INTEGER NOT NULL,
    -- open | claimed | decided
    status TEXT NOT NULL,
    -- open, claimed, accepted, rejected, needs_information, inspection, released
    review TEXT NOT NULL,
    claimed_by TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    created_at_unix_ms {bigint} NOT NULL,
    updated_at_unix_ms {bigint} NOT NULL,
    decided_at_unix_ms {bigint}
);
CREATE INDEX work_items_agency ON work_items (agency, status, created_at_unix_ms);
CREATE INDEX work_items_declaration ON work_items (declaration_id, round);
