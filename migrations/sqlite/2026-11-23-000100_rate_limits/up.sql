-- Rate limits, decided in the database so that they hold across instances and restarts.

-- One row per throttled key (an action by a subject: an account, a client address, a typed identifier). The GCRA
-- keeps a single instant per key, its theoretical arrival time: attempts are admitted while it stays within one period
-- of now. A row whose arrival time has passed counts nothing and is purged.
CREATE TABLE rate_limits (
    -- SHA-256 of the action and subject: no address or email in the clear.
    key        BLOB   NOT NULL PRIMARY KEY CHECK (length(key) = 32),
    -- Microseconds since the Unix epoch, as an integer so that the one-statement GCRA can add intervals to it.
    arrival_us BIGINT NOT NULL
);
CREATE INDEX rate_limits_arrival ON rate_limits (arrival_us);

-- Client addresses each account logged in from successfully: exempt from that account's failed-login limit, so a
-- flood aimed at the account cannot lock its owner out.
CREATE TABLE known_addresses (
    user_id TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the address (or its IPv6 /64).
    address BLOB        NOT NULL CHECK (length(address) = 32),
    seen_at BIGINT      NOT NULL,
    PRIMARY KEY (user_id, address)
);
CREATE INDEX known_addresses_seen_at ON known_addresses (seen_at);
