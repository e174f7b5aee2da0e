DROP INDEX outbox_recipient;
DROP TABLE email_changes;
ALTER TABLE users DROP COLUMN disabled_reason;
ALTER TABLE users DROP COLUMN disabled_at;
