-- Attempts counted in a sliding window (a source's failed logins, its registrations): one row
-- per attempt, forgotten only once it has left the window, never because something else
-- succeeded. attempt_keys holds one row per key, locked by each recording so that attempts of
-- one key made at once are counted one after the other.
CREATE TABLE attempt_keys (
    key TEXT PRIMARY KEY,
    last_unix_ms {bigint} NOT NULL
);
CREATE INDEX attempt_keys_last ON attempt_keys (last_unix_ms);

CREATE TABLE attempts (
    id {serial_pk},
    key TEXT NOT NULL,
    at_unix_ms {bigint} NOT NULL
);
CREATE INDEX attempts_by_key ON attempts (key, at_unix_ms);
CREATE INDEX attempts_by_time ON attempts (at_unix_ms);

-- Failed logins per source were counters that a success cleared; they are attempts now.
DELETE FROM login_failures WHERE key LIKE 'source:%';
