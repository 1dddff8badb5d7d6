-- The links of each federation's directory key chain this node has held (docs/PROTOCOL.md §4.5):
-- per federation and directory key, the newest directory that key signed announcing the next
-- one. Evidence carries those that lead to the key of the held copy, so that an anchor pinned
-- before a switch still verifies what was sealed after it. Rows are never deleted.
CREATE TABLE directory_links (
    federation TEXT NOT NULL,
    directory_key {blob} NOT NULL,
    version {bigint} NOT NULL,
    signed {blob} NOT NULL,
    PRIMARY KEY (federation, directory_key)
);
