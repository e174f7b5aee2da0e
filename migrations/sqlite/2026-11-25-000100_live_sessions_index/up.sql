-- A user's live sessions, newest first: what a login reads to revoke those beyond the per-user cap, and what the
-- session list and the per-user revocations read. Revoked sessions stay until the purge removes them, for as long
-- as their last refresh token could still be presented, so a user who logs in often has many more revoked sessions
-- than live ones; through the full index below, every login walked all of them.
--
-- created_at then id is the lookups' order (ties by id), expires_at their other filter, and revoked_at (always NULL
-- here) lets SQLite's planner see the index as covering: picking the sessions beyond the cap reads no table row.
CREATE INDEX sessions_live_by_user ON sessions (user_id, created_at, id, expires_at, revoked_at)
    WHERE revoked_at IS NULL;

-- The older full index on (user_id, created_at) stays: deleting an account cascades to its sessions by user_id,
-- revoked or not.
