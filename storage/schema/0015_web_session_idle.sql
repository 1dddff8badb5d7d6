-- A portal session's last request (node/web/session.py): one idle for longer than [web]
-- idle_timeout_s ends. Rows from before have none and are ended at their next request.
ALTER TABLE web_sessions ADD COLUMN last_seen_unix_ms {bigint} NOT NULL DEFAULT 0;
