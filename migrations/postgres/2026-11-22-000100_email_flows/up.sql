-- Email verification challenges, password reset tokens, and the outbox of the emails that carry them. Secrets are
-- stored only as SHA-256 hashes; the outbox holds an email's content (with its link and code) only until it is sent
-- or given up, then erases it.

-- One challenge per account: a new one replaces the old, whose link and code then stop working.
CREATE TABLE verification_challenges (
    user_id         TEXT        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    link_hash       BYTEA       NOT NULL,
    code_hash       BYTEA       NOT NULL,
    link_expires_at TIMESTAMPTZ NOT NULL,
    code_expires_at TIMESTAMPTZ NOT NULL,
    -- Wrong codes tried; counted here so the limit holds across instances and restarts.
    attempts        INTEGER     NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT verification_challenges_link_hash_unique UNIQUE (link_hash),
    CONSTRAINT verification_challenges_hash_length
        CHECK (octet_length(link_hash) = 32 AND octet_length(code_hash) = 32),
    CONSTRAINT verification_challenges_attempts_non_negative CHECK (attempts >= 0)
);

-- One reset token per account: a newer request voids the older token.
CREATE TABLE password_resets (
    user_id    TEXT        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash BYTEA       NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT password_resets_token_hash_unique UNIQUE (token_hash),
    CONSTRAINT password_resets_hash_length CHECK (octet_length(token_hash) = 32)
);

CREATE TABLE outbox (
    id          TEXT        PRIMARY KEY,
    recipient   TEXT        NOT NULL,
    kind        TEXT        NOT NULL,
    -- The content (EmailContent::to_payload); NULL once sent or given up.
    payload     JSONB,
    -- pending: due at due_at; sending: claimed by a worker until due_at (its lease); sent; failed (given up).
    status      TEXT        NOT NULL,
    attempts    INTEGER     NOT NULL DEFAULT 0,
    due_at      TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    last_error  TEXT,
    CONSTRAINT outbox_status_known CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    CONSTRAINT outbox_payload_until_finished CHECK ((payload IS NULL) = (status IN ('sent', 'failed')))
);

-- What the workers claim from: only the unfinished rows, by due time.
CREATE INDEX outbox_due ON outbox (due_at) WHERE status IN ('pending', 'sending');
