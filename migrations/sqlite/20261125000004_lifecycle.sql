-- no-transaction
-- The payment lifecycle (SQLite; migrations/postgres holds its twin):
-- four-eyes approval, cancellation, reconciliation, payments held for review,
-- and back pay (a run may decide several months, each decision its own month).
--
-- SQLite cannot change a CHECK or a key in place, so runs, decisions and
-- payments are rebuilt by the documented procedure (sqlite.org/lang_altertable
-- "Making Other Kinds Of Table Schema Changes"): foreign keys off, one
-- transaction, copy, drop, rename, foreign keys on. Every row is copied with
-- its keys unchanged, so references that held before hold after. Hence
-- "no-transaction" above: the PRAGMA must run outside a transaction.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE runs_new (
    id               INTEGER PRIMARY KEY,
    program          TEXT NOT NULL,
    province         TEXT NOT NULL,
    -- The months decided: first_period through period, one month unless the
    -- run pays arrears (back pay). period is the run's own month.
    first_period     TEXT NOT NULL,
    period           TEXT NOT NULL,
    plugin_hash      TEXT NOT NULL REFERENCES plugins (hash),
    release_id       INTEGER REFERENCES releases (id),
    status           TEXT NOT NULL CHECK (status IN
                         ('created', 'evaluated', 'approved', 'issued', 'reconciled', 'cancelled')),
    created_at       TEXT NOT NULL,
    created_by       TEXT,
    evaluated_at     TEXT,
    evaluated_by     TEXT,
    -- Four eyes: who approved what. approval is JSON: the checksum of the
    -- payments and cash list approved, with their counts and totals.
    approved_at      TEXT,
    approved_by      TEXT,
    approval         TEXT,
    -- The last approval found void at issue (what changed), kept for the record.
    voided_approval  TEXT,
    issued_at        TEXT,  -- also the CreDtTm of its pain.001,
    issued_by        TEXT,
    -- and the account it paid from: fixed at the first issue, so that
    -- issuing again writes the same file.
    payer_name       TEXT,
    payer_account    TEXT,
    payer_bin        TEXT,
    cancelled_at     TEXT,
    cancelled_by     TEXT,
    cancel_reason    TEXT,
    CHECK (first_period <= period),
    CHECK (status NOT IN ('approved', 'issued', 'reconciled') OR approved_by IS NOT NULL),
    CHECK (status <> 'cancelled' OR cancelled_by IS NOT NULL)
);
INSERT INTO runs_new (id, program, province, first_period, period, plugin_hash, release_id, status, created_at,
                      created_by, evaluated_at, evaluated_by, approved_at, approved_by, issued_at, issued_by,
                      payer_name, payer_account, payer_bin)
SELECT id, program, province, period, period, plugin_hash, release_id, status, created_at,
       created_by, evaluated_at, evaluated_by,
       -- Runs issued before approval existed: their issuer stands as approver.
       CASE WHEN status = 'issued' THEN issued_at END, CASE WHEN status = 'issued' THEN COALESCE(issued_by, 'before approval') END,
       issued_at, issued_by, payer_name, payer_account, payer_bin
FROM runs;

CREATE TABLE decisions_new (
    run_id         INTEGER NOT NULL REFERENCES runs (id),
    period         TEXT NOT NULL,                          -- the month decided (YYYY-MM)
    beneficiary_id INTEGER NOT NULL REFERENCES beneficiaries (id),
    -- held: eligible, but the payment waits for a person's review (the account
    -- holder's name differs from the registry's).
    outcome        TEXT NOT NULL CHECK (outcome IN
                       ('payable', 'held', 'not_eligible', 'not_verified', 'no_account', 'plugin_error')),
    amount         INTEGER NOT NULL CHECK (amount >= 0),   -- whole VND per month
    category       TEXT,
    verification   TEXT NOT NULL,                          -- JSON: each check's verdict
    plugin_hash    TEXT NOT NULL REFERENCES plugins (hash),
    input          TEXT,                                   -- canonical JSON given to the plug-in
    output         TEXT,                                   -- canonical JSON it returned
    error          TEXT,                                   -- why there is no output
    fuel           INTEGER NOT NULL,
    -- What an officer must look at, if anything (run::decide::exception).
    exception      TEXT,
    -- Where the money goes, as it was when the checks were made: a run pays
    -- what was checked and approved, not what an enrolment says by issue time.
    channel        TEXT NOT NULL,
    bank_bin       TEXT NOT NULL,
    account_number TEXT NOT NULL,
    account_name   TEXT NOT NULL,
    -- The registry's name and commune, for the VNPost cash list.
    payee_name     TEXT NOT NULL,
    commune        TEXT NOT NULL,
    PRIMARY KEY (run_id, period, beneficiary_id)
);
INSERT INTO decisions_new (run_id, period, beneficiary_id, outcome, amount, category, verification, plugin_hash,
                           input, output, error, fuel, channel, bank_bin, account_number, account_name,
                           payee_name, commune)
SELECT d.run_id, r.period, d.beneficiary_id, d.outcome, d.amount, d.category, d.verification, d.plugin_hash,
       d.input, d.output, d.error, d.fuel, b.channel, b.bank_bin, b.account_number, b.account_name,
       COALESCE(rp.full_name, b.full_name), COALESCE(rp.residence_commune, '')
FROM decisions d JOIN runs r ON r.id = d.run_id JOIN beneficiaries b ON b.id = d.beneficiary_id
LEFT JOIN registry_people rp ON rp.id_number = b.id_number;

CREATE TABLE payments_new (
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
    -- Nothing paid twice: the database, not the code, refuses a second payment.
    UNIQUE (program, period, id_number),
    FOREIGN KEY (run_id, period, beneficiary_id) REFERENCES decisions (run_id, period, beneficiary_id)
);
INSERT INTO payments_new SELECT id, run_id, beneficiary_id, program, period, id_number, amount, channel, bank_bin,
                                account_number, account_name FROM payments;

DROP TABLE payments;
DROP TABLE decisions;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
ALTER TABLE decisions_new RENAME TO decisions;
ALTER TABLE payments_new RENAME TO payments;

-- Counts and totals by outcome (run show) and the payable decisions (run
-- issue) read from this index alone, never the wide rows with their JSON.
CREATE INDEX decisions_by_outcome ON decisions (run_id, outcome, period, beneficiary_id, amount);
CREATE INDEX payments_by_run ON payments (run_id, id);
-- run show's exceptions list, read without the wide rows of the others.
CREATE INDEX decisions_exceptions ON decisions (run_id, exception, period, beneficiary_id) WHERE exception IS NOT NULL;
-- A person's enrolments in a programme across provinces (duplicates are
-- flagged). Province is in it so that it covers the lookup: without it SQLite
-- chose to scan the whole programme for MIN(province), 40 s a page at 1M.
CREATE INDEX beneficiaries_by_person ON beneficiaries (id_number, program, province);
-- The previous month's run of a province and programme (run show's diff).
CREATE INDEX runs_by_scope ON runs (program, province, period);

COMMIT;
PRAGMA foreign_keys = ON;
