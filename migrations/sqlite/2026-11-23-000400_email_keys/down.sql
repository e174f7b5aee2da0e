-- The keys stay as re-keyed: they are still unique, but an older release computes the key of a non-ASCII address
-- differently and may not find such an account by email.
DROP TABLE email_rekey;
