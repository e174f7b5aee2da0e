-- An absolute session lifetime: a session ends at its login plus tokens.session_max_age, and no refresh token
-- rotation extends it (a refresh token's expiry is capped at the session's end). Microseconds since the Unix epoch,
-- as every instant here.
--
-- SQLite adds a NOT NULL column only with a default; every row gets its real value below, and the adapter always
-- writes one. (The `expires_at <= ends_at` CHECK that PostgreSQL has would need the table rebuilt here.)
ALTER TABLE sessions ADD COLUMN ends_at BIGINT NOT NULL DEFAULT 0;

-- Sessions started before this migration end 90 days (the default maximum age) after their login, and their
-- refresh tokens no later.
UPDATE sessions SET ends_at = created_at + 90 * 86400 * 1000000;
UPDATE refresh_tokens
    SET expires_at = (SELECT s.ends_at FROM sessions AS s WHERE s.id = refresh_tokens.session_id)
    WHERE expires_at > (SELECT s.ends_at FROM sessions AS s WHERE s.id = refresh_tokens.session_id);
UPDATE sessions SET expires_at = ends_at WHERE expires_at > ends_at;
