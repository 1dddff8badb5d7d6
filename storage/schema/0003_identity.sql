-- Identity: the parties at this node (enterprises registered here, agencies, operators), their
-- users and sessions; the national registry (central node only); token revocations heard from
-- the federation; and failed-login counters.

CREATE TABLE parties (
    party_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    contact TEXT NOT NULL DEFAULT '{}',
    roles TEXT NOT NULL DEFAULT '',
    -- pending | active | rejected | suspended
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    -- For an enterprise whose registration was rejected: where the USCC is registered.
    registered_at_node TEXT NOT NULL DEFAULT '',
    created_at_unix_ms {bigint} NOT NULL,
    updated_at_unix_ms {bigint} NOT NULL
);
CREATE INDEX parties_pending ON parties (status) WHERE status = 'pending';

CREATE TABLE users (
    party_id TEXT NOT NULL REFERENCES parties (party_id),
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL DEFAULT '',
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at_unix_ms {bigint} NOT NULL,
    disabled_at_unix_ms {bigint},
    PRIMARY KEY (party_id, username)
);

CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY,
    party_id TEXT NOT NULL,
    username TEXT NOT NULL,
    refresh_sha256 {blob} NOT NULL,
    created_at_unix_ms {bigint} NOT NULL,
    expires_at_unix_ms {bigint} NOT NULL,
    revoked_at_unix_ms {bigint}
);
CREATE INDEX sessions_user ON sessions (party_id, username);

-- The national registry: one home node per USCC (kept by the central node).
CREATE TABLE national_registry (
    uscc TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    home_node TEXT NOT NULL,
    roles TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    registered_at_unix_ms {bigint} NOT NULL,
    updated_at_unix_ms {bigint} NOT NULL
);

-- Token revocations, own and heard from the federation: a token of `subject` issued before
-- not_before is refused. Forgotten once every token it covers has expired.
CREATE TABLE token_revocations (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    not_before_unix_ms {bigint} NOT NULL,
    expires_at_unix_ms {bigint} NOT NULL,
    PRIMARY KEY (kind, subject)
);
CREATE INDEX token_revocations_expiry ON token_revocations (expires_at_unix_ms);

CREATE TABLE login_failures (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_unix_ms {bigint} NOT NULL,
    locked_until_unix_ms {bigint}
);
