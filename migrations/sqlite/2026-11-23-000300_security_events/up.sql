-- The security event log: what happened to whose account, when, from where, and how it ended. Never a secret.
-- Events outlive nothing they should not: they are purged after the retention (events.retention), and an account's
-- deletion detaches them from it.
CREATE TABLE security_events (
    -- evt_…
    id         TEXT        NOT NULL PRIMARY KEY,
    -- NULL for an attempt naming no account, or once the account is deleted.
    user_id    TEXT        REFERENCES users (id) ON DELETE SET NULL,
    kind       TEXT        NOT NULL,
    outcome    TEXT        NOT NULL CHECK (outcome IN ('success', 'failure', 'refused')),
    -- A session, token or key id, or a throttled action's name.
    subject    TEXT,
    ip         TEXT,
    user_agent TEXT,
    at         BIGINT      NOT NULL
);
-- A user's own events, newest first (GET /auth/events), and everyone's (latchkey events, the purge).
CREATE INDEX security_events_user_at ON security_events (user_id, at DESC, id DESC);
CREATE INDEX security_events_at ON security_events (at DESC, id DESC);
