-- The federation: the central node's member registry, invitations and trusted anchors, and every
-- node's copies of signed directories. Types in braces are filled per dialect (storage/engine.py).

CREATE TABLE members (
    node_id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    peer_endpoint TEXT NOT NULL,
    client_endpoint TEXT NOT NULL,
    tls_certificate {blob} NOT NULL,
    signing_key {blob} NOT NULL,
    token_key {blob} NOT NULL,
    document_types TEXT NOT NULL DEFAULT '',
    enrolled_at_unix_ms {bigint} NOT NULL,
    revoked_at_unix_ms {bigint},
    revoke_reason TEXT
);

CREATE TABLE invitations (
    secret_sha256 {blob} PRIMARY KEY,
    node_id TEXT NOT NULL,
    created_at_unix_ms {bigint} NOT NULL,
    expires_at_unix_ms {bigint} NOT NULL,
    used_at_unix_ms {bigint}
);

CREATE TABLE trusted_anchors (
    federation TEXT PRIMARY KEY,
    anchor {blob} NOT NULL,
    fingerprint TEXT NOT NULL,
    added_at_unix_ms {bigint} NOT NULL
);

-- One row: the last version the central signed. Bumped with UPDATE ... RETURNING, which
-- serializes concurrent publishers on either backend.
CREATE TABLE directory_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version {bigint} NOT NULL
);
INSERT INTO directory_state (id, version) VALUES (1, 0);

CREATE TABLE published_directories (
    version {bigint} PRIMARY KEY,
    signed {blob} NOT NULL,
    issued_at_unix_ms {bigint} NOT NULL,
    expires_at_unix_ms {bigint} NOT NULL
);

-- The last good copy of each federation's directory this node holds (its own and foreign ones).
CREATE TABLE held_directories (
    federation TEXT PRIMARY KEY,
    version {bigint} NOT NULL,
    signed {blob} NOT NULL,
    fetched_at_unix_ms {bigint} NOT NULL
);
