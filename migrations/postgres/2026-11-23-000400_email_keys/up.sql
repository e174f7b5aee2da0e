-- Email lookup keys move from the Unicode lowercase of the whole address (which made "\u{212A}ate@x.com", with a
-- KELVIN SIGN, the key of "kate@x.com") to Email::key: NFC and ASCII lowercase of the local part, the IDNA ASCII
-- form of the domain (docs/security.md).
--
-- Both rules give an ASCII address the same key (or the new rules refuse the address and it keeps the key it has),
-- so only accounts whose address is not ASCII change. Their new keys take IDNA, which SQL has not: this migration
-- lists them, and the adapter re-keys the listed accounts in Rust right after the migrations run (rekey.rs), in one
-- transaction that empties the list, so an interrupted start-up resumes on the next one.
--
-- Accounts whose new keys collide (one address in NFC and NFD, one domain in Unicode and punycode) are one mailbox:
-- the oldest keeps the key, the others get "collision:<user id>", which no address has (it holds no "@"), so they
-- are no longer found by email, keep their sessions, tokens and keys, and are logged for an operator to merge.
CREATE TABLE email_rekey (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE
);

INSERT INTO email_rekey (user_id)
    SELECT id FROM users WHERE octet_length(email) <> char_length(email);
