-- Email verification challenges, password reset tokens, and the outbox of the emails that carry them. Secrets are
-- stored only as SHA-256 hashes; the outbox holds an email's content (with its link and code) only until it is sent
-- or given up, then erases it. Timestamps are INTEGER microseconds since the Unix epoch, as in the first migration.

-- One challenge per account: a new one replaces the old, whose link and code then stop working.
CREATE TABLE verification_challenges (
    user_id         TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    link_hash       BLOB    NOT NULL CHECK (length(link_hash) = 32),
    code_hash       BLOB    NOT NULL CHECK (length(code_hash) = 32),
    link_expires_at BIGINT  NOT NULL,
    code_expires_at BIGINT  NOT NULL,
    -- Wrong codes tried; counted here so the limit holds across restarts.
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at      BIGINT  NOT NULL,
    CONSTRAINT verification_challenges_link_hash_unique UNIQUE (link_hash)
);

-- One reset token per account: a newer request voids the older token.
CREATE TABLE password_resets (
    user_id    TEXT   NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB   NOT NULL CHECK (length(token_hash) = 32),
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT password_resets_token_hash_unique UNIQUE (token_hash)
);

CREATE TABLE outbox (
    id          TEXT    NOT NULL PRIMARY KEY,
    recipient   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    -- The content (EmailContent::to_payload) as JSON text; NULL once sent or given up.
    payload     TEXT    CHECK (payload IS NULL OR (json_valid(payload) AND json_type(payload) = 'object')),
    -- pending: due at due_at; sending: claimed by a worker until due_at (its lease); sent; failed (given up).
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    finished_at BIGINT,
    last_error  TEXT,
    CHECK ((payload IS NULL) = (status IN ('sent', 'failed')))
);

-- What the worker claims from: only the unfinished rows, by due time.
CREATE INDEX outbox_due ON outbox (due_at) WHERE status IN ('pending', 'sending');
