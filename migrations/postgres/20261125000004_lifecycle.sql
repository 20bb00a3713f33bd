-- The payment lifecycle (PostgreSQL; migrations/sqlite holds its twin):
-- four-eyes approval, cancellation, reconciliation, payments held for review,
-- and back pay (a run may decide several months, each decision its own month).

-- The months decided: first_period through period, one month unless the run
-- pays arrears (back pay). period is the run's own month.
ALTER TABLE runs ADD COLUMN first_period TEXT;
UPDATE runs SET first_period = period;
ALTER TABLE runs ALTER COLUMN first_period SET NOT NULL;
ALTER TABLE runs ADD CHECK (first_period <= period);

ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN
    ('created', 'evaluated', 'approved', 'issued', 'reconciled', 'cancelled'));
-- Four eyes: who approved what. approval is JSON: the checksum of the
-- payments and cash list approved, with their counts and totals.
ALTER TABLE runs ADD COLUMN approved_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN approved_by TEXT;
ALTER TABLE runs ADD COLUMN approval TEXT;
-- The last approval found void at issue (what changed), kept for the record.
ALTER TABLE runs ADD COLUMN voided_approval TEXT;
ALTER TABLE runs ADD COLUMN cancelled_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN cancelled_by TEXT;
ALTER TABLE runs ADD COLUMN cancel_reason TEXT;
-- Runs issued before approval existed: their issuer stands as approver.
UPDATE runs SET approved_at = issued_at, approved_by = COALESCE(issued_by, 'before approval') WHERE status = 'issued';
ALTER TABLE runs ADD CHECK (status NOT IN ('approved', 'issued', 'reconciled') OR approved_by IS NOT NULL);
ALTER TABLE runs ADD CHECK (status <> 'cancelled' OR cancelled_by IS NOT NULL);

-- Each decision is for one month of its run.
ALTER TABLE decisions ADD COLUMN period TEXT;
UPDATE decisions d SET period = r.period FROM runs r WHERE r.id = d.run_id;
ALTER TABLE decisions ALTER COLUMN period SET NOT NULL;
-- held: eligible, but the payment waits for a person's review (the account
-- holder's name differs from the registry's).
ALTER TABLE decisions DROP CONSTRAINT decisions_outcome_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_outcome_check CHECK (outcome IN
    ('payable', 'held', 'not_eligible', 'not_verified', 'no_account', 'plugin_error'));
-- What an officer must look at, if anything (run::decide::exception).
ALTER TABLE decisions ADD COLUMN exception TEXT;
-- Where the money goes, as it was when the checks were made: a run pays
-- what was checked and approved, not what an enrolment says by issue time.
-- And the registry's name and commune, for the VNPost cash list.
ALTER TABLE decisions ADD COLUMN channel TEXT, ADD COLUMN bank_bin TEXT, ADD COLUMN account_number TEXT,
    ADD COLUMN account_name TEXT, ADD COLUMN payee_name TEXT, ADD COLUMN commune TEXT;
UPDATE decisions d SET channel = b.channel, bank_bin = b.bank_bin, account_number = b.account_number,
    account_name = b.account_name, payee_name = COALESCE(rp.full_name, b.full_name),
    commune = COALESCE(rp.residence_commune, '')
FROM beneficiaries b LEFT JOIN registry_people rp ON rp.id_number = b.id_number WHERE b.id = d.beneficiary_id;
ALTER TABLE decisions ALTER COLUMN channel SET NOT NULL, ALTER COLUMN bank_bin SET NOT NULL,
    ALTER COLUMN account_number SET NOT NULL, ALTER COLUMN account_name SET NOT NULL,
    ALTER COLUMN payee_name SET NOT NULL, ALTER COLUMN commune SET NOT NULL;
ALTER TABLE payments DROP CONSTRAINT payments_run_id_beneficiary_id_fkey;
ALTER TABLE decisions DROP CONSTRAINT decisions_pkey;
ALTER TABLE decisions ADD PRIMARY KEY (run_id, period, beneficiary_id);
ALTER TABLE payments ADD FOREIGN KEY (run_id, period, beneficiary_id) REFERENCES decisions (run_id, period, beneficiary_id);

DROP INDEX decisions_by_outcome;
CREATE INDEX decisions_by_outcome ON decisions (run_id, outcome, period, beneficiary_id, amount);
-- run show's exceptions list, read without the wide rows of the others.
CREATE INDEX decisions_exceptions ON decisions (run_id, exception, period, beneficiary_id) WHERE exception IS NOT NULL;
-- A person's enrolments in a programme across provinces (duplicates are
-- flagged). Province is in it so that it covers the lookup: without it SQLite
-- chose to scan the whole programme for MIN(province), 40 s a page at 1M.
CREATE INDEX beneficiaries_by_person ON beneficiaries (id_number, program, province);
-- The previous month's run of a province and programme (run show's diff).
CREATE INDEX runs_by_scope ON runs (program, province, period);
