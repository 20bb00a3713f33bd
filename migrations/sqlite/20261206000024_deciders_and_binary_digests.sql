-- Decisions and beneficiaries carry no key twice (SQLite; migrations/postgres
-- holds its twin).
--
-- On the 200,000-person demo database (dbstat, 196,031 decisions, 917 bytes a
-- decision), three things were stored once a row that need not be:
-- * every decision named its plug-in (64 hex digits) and its engine (16),
--   80 bytes a row, though a run's decisions share one of each. They are now
--   a row of `deciders`, one a distinct pair, which a decision refers to by id.
-- * a decision's digest was 64 hex digits: it is now its 32 bytes.
-- * beneficiaries were unique by (program, province, id_number) and indexed
--   again by (id_number, program, province) for a person's history: 48 bytes
--   a person for two indexes of the same three columns. The unique key is now
--   in the order that serves both (an upsert names its columns in any order).
-- A decision's canonical record and digest are unchanged: decision_rows and
-- store::decisions read the plug-in, the engine and the digest (hex) back as
-- they were.
--
-- SQLite cannot drop a column that a key refers through, nor change a table's
-- unique key in place: both tables are made again, their rows moving out and
-- back in within this migration's transaction; the keys that point at them
-- are checked once, at commit, and hold again by then (as migration 17).
PRAGMA defer_foreign_keys = ON;

-- The plug-in and the engine that made decisions, each pair once.
CREATE TABLE deciders (
    id          INTEGER PRIMARY KEY,
    plugin_hash TEXT NOT NULL REFERENCES plugins (hash),
    engine      TEXT REFERENCES engines (id),     -- NULL: made before engines were recorded
    UNIQUE (plugin_hash, engine)
);
INSERT INTO deciders (plugin_hash, engine)
SELECT DISTINCT plugin_hash, engine FROM decisions ORDER BY plugin_hash, engine;

DROP VIEW decision_rows;
CREATE TEMP TABLE kept_decisions AS SELECT * FROM decisions;
DROP TABLE decisions;
CREATE TABLE decisions (
    run_id          INTEGER NOT NULL REFERENCES runs (id),
    period          TEXT NOT NULL,                          -- the month decided (YYYY-MM)
    beneficiary_id  INTEGER NOT NULL REFERENCES beneficiaries (id),
    outcome         TEXT NOT NULL CHECK (outcome IN
                        ('payable', 'held', 'not_eligible', 'not_verified', 'no_account', 'plugin_error')),
    amount          INTEGER NOT NULL CHECK (amount >= 0),   -- whole VND per month
    category        TEXT,
    verification    TEXT,                                   -- JSON: each check's verdict (before decision_texts)
    decider_id      INTEGER NOT NULL REFERENCES deciders (id),
    input           TEXT,                                   -- canonical JSON given to the plug-in (before packing)
    output          TEXT,                                   -- canonical JSON it returned (before decision_texts)
    error           TEXT,                                   -- why there is no output
    fuel            INTEGER NOT NULL,
    exception       TEXT,
    channel         TEXT NOT NULL,
    bank_bin        TEXT NOT NULL,
    account_number  TEXT NOT NULL,
    account_name    TEXT NOT NULL,
    payee_name      TEXT NOT NULL,
    commune         TEXT NOT NULL,
    digest          BLOB CHECK (digest IS NULL OR length(digest) = 32), -- sha256 of the canonical record
    verification_id INTEGER REFERENCES decision_texts (id), -- the verdicts, stored once
    output_id       INTEGER REFERENCES decision_texts (id), -- the output, stored once
    input_packed    BLOB,                                   -- the input, packed against input_base_id
    input_base_id   INTEGER REFERENCES decision_texts (id),
    -- Exactly one home for the verdicts; at most one for the output and for the input.
    CHECK ((verification IS NULL) <> (verification_id IS NULL)),
    CHECK (output IS NULL OR output_id IS NULL),
    CHECK (input_packed IS NULL OR input IS NULL),
    CHECK ((input_packed IS NULL) = (input_base_id IS NULL)),
    PRIMARY KEY (run_id, period, beneficiary_id)
);
-- A digest that is not 64 hex digits was changed by hand: it is dropped, and
-- replay reports the decision as one whose digest was removed.
INSERT INTO decisions (run_id, period, beneficiary_id, outcome, amount, category, verification, decider_id, input,
                       output, error, fuel, exception, channel, bank_bin, account_number, account_name, payee_name,
                       commune, digest, verification_id, output_id, input_packed, input_base_id)
SELECT k.run_id, k.period, k.beneficiary_id, k.outcome, k.amount, k.category, k.verification, m.id, k.input,
       k.output, k.error, k.fuel, k.exception, k.channel, k.bank_bin, k.account_number, k.account_name,
       k.payee_name, k.commune, CASE WHEN length(k.digest) = 64 THEN unhex(k.digest) END, k.verification_id,
       k.output_id, k.input_packed, k.input_base_id
FROM kept_decisions k JOIN deciders m ON m.plugin_hash = k.plugin_hash AND m.engine IS k.engine;
DROP TABLE kept_decisions;
CREATE INDEX decisions_by_outcome ON decisions (run_id, outcome, period, beneficiary_id, amount);
CREATE INDEX decisions_exceptions ON decisions (run_id, exception, period, beneficiary_id) WHERE exception IS NOT NULL;

CREATE TEMP TABLE kept_beneficiaries AS SELECT * FROM beneficiaries;
DROP TABLE beneficiaries;
CREATE TABLE beneficiaries (
    id                 INTEGER PRIMARY KEY,
    program            TEXT NOT NULL,
    province           TEXT NOT NULL,
    id_number          TEXT NOT NULL,
    full_name          TEXT NOT NULL,          -- NFC
    birth_date         TEXT NOT NULL,
    household          TEXT NOT NULL,
    disability         TEXT NOT NULL,
    has_pension        BOOLEAN NOT NULL,
    difficult_commune  BOOLEAN NOT NULL,
    statuses           TEXT NOT NULL,          -- ';'-separated, as in the CSV
    dependent_children INTEGER NOT NULL CHECK (dependent_children >= 0),
    channel            TEXT NOT NULL CHECK (channel IN ('bank', 'ewallet', 'none')),
    bank_bin           TEXT NOT NULL,
    account_number     TEXT NOT NULL,
    account_name       TEXT NOT NULL,
    -- A person once a programme and province; its order also finds a person's every enrolment.
    UNIQUE (id_number, program, province)
);
INSERT INTO beneficiaries SELECT * FROM kept_beneficiaries;
DROP TABLE kept_beneficiaries;
CREATE INDEX beneficiaries_by_run_scope ON beneficiaries (program, province, id);

-- Decisions whole, their texts in place and their plug-in, engine and digest
-- as they were written before (the digest as 64 hex digits).
CREATE VIEW decision_rows AS
SELECT d.run_id, d.period, d.beneficiary_id, d.outcome, d.amount, d.category,
       COALESCE(v.text, d.verification) AS verification, m.plugin_hash, m.engine, d.input,
       COALESCE(o.text, d.output) AS output, d.error, d.fuel, d.exception, d.channel, d.bank_bin,
       d.account_number, d.account_name, d.payee_name, d.commune,
       CASE WHEN d.digest IS NOT NULL THEN lower(hex(d.digest)) END AS digest,
       d.input_packed, b.text AS input_base
FROM decisions d
JOIN deciders m ON m.id = d.decider_id
LEFT JOIN decision_texts v ON v.id = d.verification_id
LEFT JOIN decision_texts o ON o.id = d.output_id
LEFT JOIN decision_texts b ON b.id = d.input_base_id;
