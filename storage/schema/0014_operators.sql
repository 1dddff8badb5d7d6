-- The operator console (node/web/console/): a node's operators, their console sessions and the
-- audit log of what they did. Operators are this node's alone: the console is not federated.
CREATE TABLE operators (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    -- RFC 6238 shared secret (base32); needed in the clear to check a code.
    totp_secret TEXT NOT NULL,
    -- The time step of the last code accepted: a code is good once.
    totp_last_step {bigint} NOT NULL DEFAULT 0,
    must_change_password INTEGER NOT NULL DEFAULT 1,
    created_at_unix_ms {bigint} NOT NULL
);

-- Keyed like web_sessions by the cookie id's SHA-256; the row names the operator.
CREATE TABLE console_sessions (
    id_sha256 {blob} PRIMARY KEY,
    username TEXT NOT NULL,
    created_at_unix_ms {bigint} NOT NULL,
    expires_at_unix_ms {bigint} NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at_unix_ms);

-- Append only: who did what, to which object, when, and how it ended.
CREATE TABLE audit_log (
    seq {serial_pk},
    at_unix_ms {bigint} NOT NULL,
    operator TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_time ON audit_log (at_unix_ms);
