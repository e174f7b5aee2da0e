ALTER TABLE sessions DROP CONSTRAINT sessions_expire_by_their_end;
ALTER TABLE sessions DROP COLUMN ends_at;
