-- Holds and rejections (SQLite; migrations/postgres holds its twin).
--
-- A person held from a run's payment: a decision sealed at evaluation is never
-- edited, so what happened since (the enrolment's account changed, a bank
-- reported the person deceased) is its own record beside it. The approval
-- that left them out records them, with a run.hold entry in the audit log;
-- they can be paid later by another run for that month.
CREATE TABLE holds (
    run_id         INTEGER NOT NULL,
    period         TEXT NOT NULL,
    beneficiary_id INTEGER NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('account_changed', 'death_reported')),
    detail         TEXT NOT NULL,
    held_by        TEXT NOT NULL,
    held_at        TEXT NOT NULL,
    PRIMARY KEY (run_id, period, beneficiary_id),
    FOREIGN KEY (run_id, period, beneficiary_id) REFERENCES decisions (run_id, period, beneficiary_id)
);

-- A payment a bank rejected (pain.002 RJCT, final) no longer counts as paid:
-- the person may be paid again for that month, once. So the key that pays a
-- person at most once per programme and month covers the payments not
-- rejected. SQLite cannot drop a table's UNIQUE constraint: the table is made
-- again, its rows moving out and back in this migration's transaction, with
-- the foreign keys that point at it checked at commit.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE kept_payments AS SELECT * FROM payments;
DROP TABLE payments;
CREATE TABLE payments (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs (id),
    beneficiary_id INTEGER NOT NULL,
    program        TEXT NOT NULL,
    period         TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    amount         INTEGER NOT NULL CHECK (amount > 0),
    channel        TEXT NOT NULL CHECK (channel IN ('bank', 'ewallet')),
    bank_bin       TEXT NOT NULL,
    account_number TEXT NOT NULL,
    account_name   TEXT NOT NULL,
    rejected       BOOLEAN NOT NULL DEFAULT FALSE,
    FOREIGN KEY (run_id, period, beneficiary_id) REFERENCES decisions (run_id, period, beneficiary_id)
);
INSERT INTO payments (id, run_id, beneficiary_id, program, period, id_number, amount, channel, bank_bin,
    account_number, account_name)
    SELECT id, run_id, beneficiary_id, program, period, id_number, amount, channel, bank_bin, account_number,
        account_name FROM kept_payments;
DROP TABLE kept_payments;
UPDATE payments SET rejected = TRUE
    WHERE id IN (SELECT payment_id FROM payment_statuses WHERE status = 'rejected');
CREATE INDEX payments_by_run ON payments (run_id, id);
CREATE INDEX payments_by_run_channel ON payments (run_id, channel, id);
-- Nothing paid twice: the database, not the code, refuses a second payment not rejected.
CREATE UNIQUE INDEX payments_once ON payments (program, period, id_number) WHERE NOT rejected;
