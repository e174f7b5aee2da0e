-- An absolute session lifetime: a session ends at its login plus tokens.session_max_age, and no refresh token
-- rotation extends it (a refresh token's expiry is capped at the session's end).
ALTER TABLE sessions ADD COLUMN ends_at TIMESTAMPTZ;

-- Sessions started before this migration end 90 days (the default maximum age) after their login, and their
-- refresh tokens no later.
UPDATE sessions SET ends_at = created_at + INTERVAL '90 days';
ALTER TABLE sessions ALTER COLUMN ends_at SET NOT NULL;
UPDATE refresh_tokens AS t SET expires_at = s.ends_at
    FROM sessions AS s
    WHERE t.session_id = s.id AND t.expires_at > s.ends_at;
UPDATE sessions SET expires_at = ends_at WHERE expires_at > ends_at;

ALTER TABLE sessions ADD CONSTRAINT sessions_expire_by_their_end CHECK (expires_at <= ends_at);
