DROP TABLE idempotency_keys;
DROP TABLE credit_ledger;
