-- The traceparent of the receipt of each message in the inbox (as 0009 gave the outbox): the
-- service that handles it later continues the trace it arrived in. Empty: none.
ALTER TABLE inbox ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';
