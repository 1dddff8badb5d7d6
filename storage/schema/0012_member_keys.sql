-- Every signing and token key a member has listed, with its lifetime and retirement
-- (docs/PROTOCOL.md §2.9). A member without rows here lists the keys it enrolled with
-- (members.signing_key, members.token_key); its first rotation copies them in. Rows are never
-- deleted: retired keys stay listed, so that evidence they signed verifies offline.
CREATE TABLE member_keys (
    node_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    key_id TEXT NOT NULL,
    public_key {blob} NOT NULL,
    not_before_unix_ms {bigint} NOT NULL,
    not_after_unix_ms {bigint} NOT NULL,
    retired_at_unix_ms {bigint} NOT NULL,
    PRIMARY KEY (node_id, key_id)
);
CREATE INDEX member_keys_by_node ON member_keys (node_id, purpose);

-- The highest directory version any member reported holding: a central restored from an older
-- backup publishes above it (§2.9).
ALTER TABLE directory_state ADD COLUMN highest_seen {bigint} NOT NULL DEFAULT 0;
