-- Accounts, sessions and refresh tokens. The invariants the domain relies on are enforced here as well, so that
-- concurrent requests cannot break them.
--
-- Timestamps are INTEGER microseconds since the Unix epoch (UTC): they round-trip chrono's DateTime<Utc> exactly
-- and sort numerically, which a text encoding only does while every writer formats fractions identically.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    -- The address as typed, for display and mail.
    email         TEXT    NOT NULL,
    -- Email::key(): the case-folded form under which the address is unique.
    email_key     TEXT    NOT NULL,
    username      TEXT,
    -- Username::key(); NULLs never collide, so any number of accounts may go without a username.
    username_key  TEXT,
    name          TEXT,
    phone         TEXT,
    metadata      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
    credits       BIGINT  NOT NULL,
    is_verified   BOOLEAN NOT NULL DEFAULT false,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    -- SQLite reports a violation by column ("UNIQUE constraint failed: users.email_key"), PostgreSQL by name; the
    -- adapter maps either to EmailTaken / UsernameTaken.
    CONSTRAINT users_email_key_unique UNIQUE (email_key),
    CONSTRAINT users_username_key_unique UNIQUE (username_key),
    CONSTRAINT users_credits_non_negative CHECK (credits >= 0)
);

CREATE TABLE sessions (
    id           TEXT   NOT NULL PRIMARY KEY,
    user_id      TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    user_agent   TEXT,
    ip           TEXT
);

-- Serves the session list (newest first) and the per-user revocations.
CREATE INDEX sessions_user_id_created_at ON sessions (user_id, created_at);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token: the only form in which it is stored.
    token_hash     BLOB   NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id     TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    successor_hash BLOB
);

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
