-- Account lifecycle: operators disable accounts; owners change their email address through a pending change that
-- the new address must confirm (link or code, as verification does). Secrets are stored only as SHA-256 hashes.

ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN disabled_reason TEXT;

-- One pending change per account: a newer request replaces it, and its link and code stop working.
CREATE TABLE email_changes (
    user_id         TEXT        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    new_email       TEXT        NOT NULL,
    -- Email::key of new_email: how a code confirmation finds the change, and what must still be free to apply it.
    new_email_key   TEXT        NOT NULL,
    link_hash       BYTEA       NOT NULL,
    code_hash       BYTEA       NOT NULL,
    link_expires_at TIMESTAMPTZ NOT NULL,
    code_expires_at TIMESTAMPTZ NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    -- The session that asked; it survives the change, the account's other sessions do not.
    requested_by    TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT email_changes_link_hash_unique UNIQUE (link_hash),
    CONSTRAINT email_changes_hash_length
        CHECK (octet_length(link_hash) = 32 AND octet_length(code_hash) = 32),
    CONSTRAINT email_changes_attempts_non_negative CHECK (attempts >= 0)
);

CREATE INDEX email_changes_new_email_key ON email_changes (new_email_key);
-- Account deletion drops the emails still queued to the account's addresses.
CREATE INDEX outbox_recipient ON outbox (recipient);
