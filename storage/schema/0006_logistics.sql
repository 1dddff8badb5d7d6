-- Logistics status and the data sharing pool (docs/LOGISTICS.md): the events the operators of
-- this node report, the containers and bills of lading its declarations name, the datasets held
-- here, access requests and the grants they became, the access log, and the nonces of signed
-- peer queries already answered.

-- One row per event an operator of this node reported; an operator's event id is stored once.
CREATE TABLE logistics_events (
    seq {serial_pk},
    party_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    occurred_at_unix_ms {bigint} NOT NULL,
    place TEXT NOT NULL,
    container TEXT NOT NULL DEFAULT '',
    bill_of_lading TEXT NOT NULL DEFAULT '',
    conveyance TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL,
    remarks TEXT NOT NULL DEFAULT '',
    reported_by TEXT NOT NULL,
    recorded_at_unix_ms {bigint} NOT NULL
);
CREATE UNIQUE INDEX logistics_events_event ON logistics_events (party_id, event_id);
-- A timeline (and a watch after a cursor) reads only its key's rows, in storage order.
CREATE INDEX logistics_events_container ON logistics_events (container, seq);
CREATE INDEX logistics_events_bill ON logistics_events (bill_of_lading, seq);

-- The containers (kind 'container') and bills of lading ('bill_of_lading') each declaration
-- submitted here names, so a timeline by either finds the party's declarations.
CREATE TABLE declaration_refs (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    party_id TEXT NOT NULL,
    declaration_id TEXT NOT NULL REFERENCES declarations (id),
    PRIMARY KEY (kind, value, party_id, declaration_id)
);
CREATE INDEX declaration_refs_declaration ON declaration_refs (declaration_id);

-- The sharing pool's datasets held at this node; id is NODE/PARTY/NAME, owner the local party.
CREATE TABLE datasets (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    -- logistics_events | catalog
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    -- JSON array of field names
    fields TEXT NOT NULL,
    -- open_to_agencies | restricted
    policy TEXT NOT NULL,
    published_by TEXT NOT NULL,
    created_at_unix_ms {bigint} NOT NULL,
    updated_at_unix_ms {bigint} NOT NULL
);
CREATE INDEX datasets_owner ON datasets (owner);

-- Access requests for datasets held here; a request lives on as its grant (or refusal).
CREATE TABLE sharing_grants (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES datasets (id),
    owner TEXT NOT NULL,
    -- NODE/PARTY of the party that asked, and its kind
    requester TEXT NOT NULL,
    requester_kind TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    via_node TEXT NOT NULL,
    purpose TEXT NOT NULL,
    valid_from_unix_ms {bigint} NOT NULL,
    valid_until_unix_ms {bigint} NOT NULL,
    -- pending | granted | refused | revoked
    status TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    created_at_unix_ms {bigint} NOT NULL,
    decided_at_unix_ms {bigint} NOT NULL DEFAULT 0,
    revoked_at_unix_ms {bigint} NOT NULL DEFAULT 0
);
-- Every query's check: the grants of one party for one dataset.
CREATE INDEX sharing_grants_requester ON sharing_grants (dataset_id, requester);
CREATE INDEX sharing_grants_owner ON sharing_grants (owner, created_at_unix_ms);
CREATE INDEX sharing_grants_mine ON sharing_grants (requester, created_at_unix_ms);

-- Every access to a dataset held here, allowed or refused; the owner reads it.
CREATE TABLE sharing_access_log (
    seq {serial_pk},
    at_unix_ms {bigint} NOT NULL,
    dataset_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    party TEXT NOT NULL,
    party_kind TEXT NOT NULL,
    user_name TEXT NOT NULL,
    via_node TEXT NOT NULL,
    action TEXT NOT NULL,
    query_key TEXT NOT NULL,
    purpose TEXT NOT NULL,
    allowed INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    rows_given INTEGER NOT NULL,
    nonce TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sharing_access_log_owner ON sharing_access_log (owner, seq);
CREATE INDEX sharing_access_log_dataset ON sharing_access_log (dataset_id, seq);

-- Nonces of signed peer queries answered, per querying node, until their query is too old.
CREATE TABLE sharing_nonces (
    node TEXT NOT NULL,
    nonce {blob} NOT NULL,
    expires_at_unix_ms {bigint} NOT NULL,
    PRIMARY KEY (node, nonce)
);
CREATE INDEX sharing_nonces_expiry ON sharing_nonces (expires_at_unix_ms);
