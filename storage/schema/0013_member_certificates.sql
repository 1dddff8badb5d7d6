-- A member's earlier TLS certificates, still listed (NodeEntry.previous_tls_certificates) until
-- the overlap of the rotation that replaced them ends (docs/PROTOCOL.md §2.9).
CREATE TABLE member_certificates (
    node_id TEXT NOT NULL,
    certificate {blob} NOT NULL,
    retired_at_unix_ms {bigint} NOT NULL,
    PRIMARY KEY (node_id, retired_at_unix_ms)
);
