-- An operator's own reports ("My reports", storage/logistics.py reported_by) are read newest
-- first per party, a page at a time before a cursor: index them by (party_id, seq), so that a
-- page walks the index back from the newest (or the cursor) and reads only the rows it shows,
-- instead of sorting every event of the party.
CREATE INDEX logistics_events_party ON logistics_events (party_id, seq);
