-- Holds and rejections (PostgreSQL; migrations/sqlite holds its twin).
--
-- A person held from a run's payment: a decision sealed at evaluation is never
-- edited, so what happened since (the enrolment's account changed, a bank
-- reported the person deceased) is its own record beside it. The approval
-- that left them out records them, with a run.hold entry in the audit log;
-- they can be paid later by another run for that month.
CREATE TABLE holds (
    run_id         BIGINT NOT NULL,
    period         TEXT NOT NULL,
    beneficiary_id BIGINT NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('account_changed', 'death_reported')),
    detail         TEXT NOT NULL,
    held_by        TEXT NOT NULL,
    held_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, period, beneficiary_id),
    FOREIGN KEY (run_id, period, beneficiary_id) REFERENCES decisions (run_id, period, beneficiary_id)
);

-- A payment a bank rejected (pain.002 RJCT, final) no longer counts as paid:
-- the person may be paid again for that month, once. So the key that pays a
-- person at most once per programme and month covers the payments not rejected.
ALTER TABLE payments ADD COLUMN rejected BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE payments SET rejected = TRUE
    WHERE id IN (SELECT payment_id FROM payment_statuses WHERE status = 'rejected');
ALTER TABLE payments DROP CONSTRAINT payments_program_period_id_number_key;
CREATE UNIQUE INDEX payments_once ON payments (program, period, id_number) WHERE NOT rejected;
