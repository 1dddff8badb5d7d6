-- The W3C traceparent of the work that created a row (docs/OPERATIONS.md, "Traces across
-- nodes"): a message sent later by the delivery loop, or an agency's decision on a declaration,
-- continues the trace of the request it came from. Empty: none. Never part of anything signed.
ALTER TABLE outbox ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';
ALTER TABLE declarations ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';
