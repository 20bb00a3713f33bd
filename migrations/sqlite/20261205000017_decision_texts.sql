-- Decisions store what repeats once (SQLite; migrations/postgres holds its
-- twin). Of a million decisions of the demo, the plug-in's outputs hold 540
-- distinct values and the registry checks' verdicts a few thousand, yet each
-- row carried its own copy: 1 KB of the 2.6 KB a decision took.
--
-- Each distinct text is a row of decision_texts, found by its sha256 (hex; a
-- btree cannot index a long text itself), and a decision refers to it. A
-- decision's canonical record and digest are unchanged: they are made of the
-- texts, wherever they are kept (store::decisions reads them back whole).
-- Decisions made before keep their texts inline in `verification` and
-- `output`, so that an older database verifies and replays as it did.
--
-- SQLite cannot make a NOT NULL column nullable in place: the table is made
-- again and its rows move out and back in within this migration's
-- transaction; the foreign keys that point at it are checked once, at commit,
-- and hold again by then (rows that come back into a table of the name the
-- keys point at, as migration 9 does).
PRAGMA defer_foreign_keys = ON;

CREATE TABLE decision_texts (
    id     INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    text   TEXT NOT NULL
);

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
    plugin_hash     TEXT NOT NULL REFERENCES plugins (hash),
    input           TEXT,                                   -- canonical JSON given to the plug-in
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
    engine          TEXT REFERENCES engines (id),
    digest          TEXT,
    verification_id INTEGER REFERENCES decision_texts (id), -- the verdicts, stored once
    output_id       INTEGER REFERENCES decision_texts (id), -- the output, stored once
    -- Exactly one home for the verdicts; at most one for the output.
    CHECK ((verification IS NULL) <> (verification_id IS NULL)),
    CHECK (output IS NULL OR output_id IS NULL),
    PRIMARY KEY (run_id, period, beneficiary_id)
);
INSERT INTO decisions (run_id, period, beneficiary_id, outcome, amount, category, verification, plugin_hash,
                           input, output, error, fuel, exception, channel, bank_bin, account_number, account_name,
                           payee_name, commune, engine, digest)
SELECT run_id, period, beneficiary_id, outcome, amount, category, verification, plugin_hash, input, output, error,
       fuel, exception, channel, bank_bin, account_number, account_name, payee_name, commune, engine, digest
FROM kept_decisions;
DROP TABLE kept_decisions;

CREATE INDEX decisions_by_outcome ON decisions (run_id, outcome, period, beneficiary_id, amount);
CREATE INDEX decisions_exceptions ON decisions (run_id, exception, period, beneficiary_id) WHERE exception IS NOT NULL;

-- Decisions with their texts whole, wherever each is kept: what an auditor
-- reads and replays (store::decisions::DecisionRow), and what a person
-- querying the database by hand should read instead of `decisions`.
CREATE VIEW decision_rows AS
SELECT d.run_id, d.period, d.beneficiary_id, d.outcome, d.amount, d.category,
       COALESCE(v.text, d.verification) AS verification, d.plugin_hash, d.engine, d.input,
       COALESCE(o.text, d.output) AS output, d.error, d.fuel, d.exception, d.channel, d.bank_bin,
       d.account_number, d.account_name, d.payee_name, d.commune, d.digest
FROM decisions d
LEFT JOIN decision_texts v ON v.id = d.verification_id
LEFT JOIN decision_texts o ON o.id = d.output_id;
