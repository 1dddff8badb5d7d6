-- Certificates that cross borders: those this node issued, and those it received as the
-- importing window; each with its history.

CREATE TABLE certificates (
    issuing_country TEXT NOT NULL,
    number TEXT NOT NULL,
    -- issued | received
    side TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    certificate {blob} NOT NULL,
    -- As received: the envelope it arrived in, checked again whenever it is verified.
    envelope {blob},
    exporter_uscc TEXT NOT NULL DEFAULT '',
    issuing_body TEXT NOT NULL DEFAULT '',
    importing_country TEXT NOT NULL,
    -- Issued side: the outbox message that carries it.
    message_id TEXT NOT NULL DEFAULT '',
    replaced_by TEXT NOT NULL DEFAULT '',
    import_declaration TEXT NOT NULL DEFAULT '',
    created_at_unix_ms {bigint} NOT NULL,
    updated_at_unix_ms {bigint} NOT NULL,
    PRIMARY KEY (issuing_country, number, side)
);
CREATE INDEX certificates_undelivered ON certificates (status) WHERE status = 'pending_delivery';
CREATE INDEX certificates_exporter ON certificates (exporter_uscc, created_at_unix_ms);
CREATE INDEX certificates_side ON certificates (side, created_at_unix_ms);

CREATE TABLE certificate_events (
    seq {serial_pk},
    issuing_country TEXT NOT NULL,
    number TEXT NOT NULL,
    side TEXT NOT NULL,
    status TEXT NOT NULL,
    actor TEXT NOT NULL,
    node TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    at_unix_ms {bigint} NOT NULL
);
CREATE INDEX certificate_events_certificate ON certificate_events (issuing_country, number, side, seq);

-- Certificate numbers: one counter per prefix and year at each issuing node.
CREATE TABLE certificate_counters (
    prefix TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
