-- Accounts, sessions and refresh tokens. The invariants the domain relies on are enforced here as well, so that
-- concurrent requests and other instances cannot break them.

CREATE TABLE users (
    id            TEXT        PRIMARY KEY,
    -- The address as typed, for display and mail.
    email         TEXT        NOT NULL,
    -- Email::key(): the case-folded form under which the address is unique.
    email_key     TEXT        NOT NULL,
    username      TEXT,
    -- Username::key(); NULLs never collide, so any number of accounts may go without a username.
    username_key  TEXT,
    name          TEXT,
    phone         TEXT,
    metadata      JSONB       NOT NULL DEFAULT '{}',
    credits       BIGINT      NOT NULL,
    is_verified   BOOLEAN     NOT NULL DEFAULT false,
    password_hash TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    -- The adapter maps violations to EmailTaken / UsernameTaken by these names.
    CONSTRAINT users_email_key_unique UNIQUE (email_key),
    CONSTRAINT users_username_key_unique UNIQUE (username_key),
    CONSTRAINT users_credits_non_negative CHECK (credits >= 0),
    CONSTRAINT users_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE TABLE sessions (
    id           TEXT        PRIMARY KEY,
    user_id      TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    user_agent   TEXT,
    ip           TEXT
);

-- Serves the session list (newest first) and the per-user revocations.
CREATE INDEX sessions_user_id_created_at ON sessions (user_id, created_at);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token: the only form in which it is stored.
    token_hash     BYTEA       PRIMARY KEY,
    session_id     TEXT        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at      TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ,
    successor_hash BYTEA,
    CONSTRAINT refresh_tokens_hash_length CHECK (octet_length(token_hash) = 32)
);

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
