-- The portal's server-side sessions (node/web/session.py): the browser holds only a random id
-- in a cookie; the row, keyed by that id's SHA-256, holds the tokens of the login behind it, so
-- that every replica of a node sees the same sessions. A row is deleted at logout and expiry.
CREATE TABLE web_sessions (
    id_sha256 {blob} PRIMARY KEY,
    access_token TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    party_id TEXT NOT NULL,
    username TEXT NOT NULL,
    created_at_unix_ms {bigint} NOT NULL,
    expires_at_unix_ms {bigint} NOT NULL
);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at_unix_ms);
