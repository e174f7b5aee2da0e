-- The credits ledger: every change of a balance (users.credits) is one entry, written in the same transaction, so
-- a balance always equals the sum of its account's entries. Entries are never changed; an account's deletion
-- detaches them (user_id becomes NULL) and keeps them, anonymised, for the books.
CREATE TABLE credit_ledger (
    -- Orders one account's entries: its balance updates take the account's row lock, so they commit in this order.
    sequence      BIGSERIAL   PRIMARY KEY,
    -- led_…
    id            TEXT        NOT NULL UNIQUE,
    user_id       TEXT        REFERENCES users (id) ON DELETE SET NULL,
    kind          TEXT        NOT NULL CHECK (kind IN ('welcome', 'charge', 'refund', 'grant')),
    amount        BIGINT      NOT NULL,
    balance_after BIGINT      NOT NULL CHECK (balance_after >= 0),
    -- chg_…, on charge and refund entries: one charge and at most one refund per charge.
    charge_id     TEXT,
    unit          TEXT,
    quantity      BIGINT,
    -- An operator's grant reason: free text, kept with the anonymised ledger (docs/security.md).
    reason        TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT credit_ledger_one_entry_per_charge_and_kind UNIQUE (charge_id, kind),
    CONSTRAINT credit_ledger_charge_fields CHECK ((kind IN ('charge', 'refund')) = (charge_id IS NOT NULL))
);
-- The account's ledger, newest first (GET /credits/ledger).
CREATE INDEX credit_ledger_user_sequence ON credit_ledger (user_id, sequence DESC);
-- The welcome credits are given once per account.
CREATE UNIQUE INDEX credit_ledger_one_welcome ON credit_ledger (user_id) WHERE kind = 'welcome';

-- The charges' idempotency keys: per user, kept until expires_at (credits.idempotency_ttl). The answer they replay is
-- the charge's ledger entry, written in the same transaction as the key.
CREATE TABLE idempotency_keys (
    user_id     TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the request's canonical form (unit, quantity).
    fingerprint BYTEA       NOT NULL CHECK (octet_length(fingerprint) = 32),
    charge_id   TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);

-- Accounts older than the ledger open it with their balance.
INSERT INTO credit_ledger (id, user_id, kind, amount, balance_after, reason, created_at)
SELECT 'led_open_' || row_number() OVER (ORDER BY created_at, id), id, 'welcome', credits, credits, 'opening balance',
       created_at
FROM users
WHERE credits > 0;
