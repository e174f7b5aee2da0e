-- Account lifecycle: operators disable accounts; owners change their email address through a pending change that
-- the new address must confirm (link or code, as verification does). Secrets are stored only as SHA-256 hashes.
-- Timestamps are INTEGER microseconds since the Unix epoch, as in the first migration.

ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN disabled_reason TEXT;

-- One pending change per account: a newer request replaces it, and its link and code stop working.
CREATE TABLE email_changes (
    user_id         TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    new_email       TEXT    NOT NULL,
    -- Email::key of new_email: how a code confirmation finds the change, and what must still be free to apply it.
    new_email_key   TEXT    NOT NULL,
    link_hash       BLOB    NOT NULL UNIQUE CHECK (length(link_hash) = 32),
    code_hash       BLOB    NOT NULL CHECK (length(code_hash) = 32),
    link_expires_at BIGINT  NOT NULL,
    code_expires_at BIGINT  NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- The session that asked; it survives the change, the account's other sessions do not.
    requested_by    TEXT,
    created_at      BIGINT  NOT NULL
);

CREATE INDEX email_changes_new_email_key ON email_changes (new_email_key);
-- Account deletion drops the emails still queued to the account's addresses.
CREATE INDEX outbox_recipient ON outbox (recipient);
