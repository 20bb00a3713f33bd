-- no-transaction
-- A run being issued (SQLite; migrations/postgres holds its twin).
--
-- `run issue` inserted a run's payments in one transaction, which held every
-- other writer of the database (a server's sign-ins, another run's progress)
-- for nine seconds at a million people. It now moves the run to 'issuing' in
-- a short transaction, inserts its payments in parts of a fraction of a second
-- each, checks what was inserted against the approval, and only then moves it
-- to 'issued' (host/src/run/issue.rs). A run left 'issuing' by a crash is
-- finished by issuing it again; one whose check fails has its payments taken
-- out, in parts, and goes back to approved (or, its approval void, to
-- evaluated). Nothing in a run that is 'issuing' has been sent: its files are
-- made only once it is issued.
--
-- SQLite cannot change a CHECK in place: runs is rebuilt as in
-- 20261125000004_lifecycle.sql, every row with its id, so that the tables
-- that refer to it still do.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE runs_new (
    id                    INTEGER PRIMARY KEY,
    program               TEXT NOT NULL,
    province              TEXT NOT NULL,
    -- The months decided: first_period through period, one month unless the
    -- run pays arrears (back pay). period is the run's own month.
    first_period          TEXT NOT NULL,
    period                TEXT NOT NULL,
    plugin_hash           TEXT NOT NULL REFERENCES plugins (hash),
    release_id            INTEGER REFERENCES releases (id),
    status                TEXT NOT NULL CHECK (status IN
                              ('created', 'evaluated', 'approved', 'issuing', 'issued', 'reconciled', 'cancelled')),
    created_at            TEXT NOT NULL,
    created_by            TEXT,
    evaluated_at          TEXT,
    evaluated_by          TEXT,
    -- Four eyes: who approved what. approval is JSON: the checksum of the
    -- payments and cash list approved, with their counts and totals.
    approved_at           TEXT,
    approved_by           TEXT,
    approval              TEXT,
    -- The last approval found void at issue (what changed), kept for the record.
    voided_approval       TEXT,
    issued_at             TEXT,  -- also the CreDtTm of its pain.001,
    issued_by             TEXT,
    -- and the accounts it paid from: fixed when its issue begins, so that
    -- issuing again writes the same files.
    payer_name            TEXT,
    payer_account         TEXT,
    payer_bin             TEXT,
    cancelled_at          TEXT,
    cancelled_by          TEXT,
    cancel_reason         TEXT,
    registry_source       TEXT,
    ewallet_payer_name    TEXT,
    ewallet_payer_account TEXT,
    ewallet_payer_bin     TEXT,
    bank_csv              BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (first_period <= period),
    CHECK (status NOT IN ('approved', 'issuing', 'issued', 'reconciled') OR approved_by IS NOT NULL),
    CHECK (status <> 'cancelled' OR cancelled_by IS NOT NULL)
);
INSERT INTO runs_new (id, program, province, first_period, period, plugin_hash, release_id, status, created_at,
                      created_by, evaluated_at, evaluated_by, approved_at, approved_by, approval, voided_approval,
                      issued_at, issued_by, payer_name, payer_account, payer_bin, cancelled_at, cancelled_by,
                      cancel_reason, registry_source, ewallet_payer_name, ewallet_payer_account, ewallet_payer_bin,
                      bank_csv)
SELECT id, program, province, first_period, period, plugin_hash, release_id, status, created_at,
       created_by, evaluated_at, evaluated_by, approved_at, approved_by, approval, voided_approval,
       issued_at, issued_by, payer_name, payer_account, payer_bin, cancelled_at, cancelled_by,
       cancel_reason, registry_source, ewallet_payer_name, ewallet_payer_account, ewallet_payer_bin,
       bank_csv
FROM runs;

DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
-- The previous month's run of a province and programme (run show's diff).
CREATE INDEX runs_by_scope ON runs (program, province, period);

COMMIT;
PRAGMA foreign_keys = ON;
