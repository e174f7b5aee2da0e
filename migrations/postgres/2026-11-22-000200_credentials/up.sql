-- Personal access tokens and API keys. A revoked credential keeps its row (and its hash, so it can never collide with
-- a new secret) but is never found again.

CREATE TABLE credentials (
    -- pat_… or key_…
    id           TEXT        NOT NULL PRIMARY KEY,
    user_id      TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT        NOT NULL CHECK (kind IN ('pat', 'key')),
    name         TEXT        NOT NULL,
    -- Space-separated scope names.
    scopes       TEXT        NOT NULL,
    -- The first characters of the secret, shown in lists.
    hint         TEXT        NOT NULL,
    -- SHA-256 of the secret: the only form in which it is stored, and how a request finds it.
    secret_hash  BYTEA       NOT NULL CHECK (octet_length(secret_hash) = 32),
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    CONSTRAINT credentials_secret_hash_unique UNIQUE (secret_hash)
);

-- Serves the lists and the per-user limit.
CREATE INDEX credentials_user_id_kind ON credentials (user_id, kind) WHERE revoked_at IS NULL;
