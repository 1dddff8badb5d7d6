-- The dispatcher reads each handled document type's waiting messages: index them by type, so
-- that messages of types no service handles (which wait for an operator) are never scanned.
CREATE INDEX inbox_waiting_by_type ON inbox (document_type, seq) WHERE status = 'received';
