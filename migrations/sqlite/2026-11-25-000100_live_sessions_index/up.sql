-- The live sessions of a user, oldest first: what a login counts against the per-user cap (and revokes beyond
-- it), the session list and the per-user revocations read. Revoked sessions stay until the purge removes them,
-- for as long as their last refresh token could still be presented, so a user who logs in often has many
-- more revoked sessions than live ones; without this index every login walked all of them.
CREATE INDEX sessions_live_by_user ON sessions (user_id, created_at) WHERE revoked_at IS NULL;
-- The older full index on (user_id, created_at) stays: deleting an account cascades to its sessions by user_id,
-- revoked or not.
