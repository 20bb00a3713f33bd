-- Decisions store what repeats once (PostgreSQL; migrations/sqlite holds its
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
CREATE TABLE decision_texts (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    text   TEXT NOT NULL
);

ALTER TABLE decisions ALTER COLUMN verification DROP NOT NULL;
ALTER TABLE decisions ADD COLUMN verification_id BIGINT REFERENCES decision_texts (id);
ALTER TABLE decisions ADD COLUMN output_id BIGINT REFERENCES decision_texts (id);
-- Exactly one home for the verdicts; at most one for the output.
ALTER TABLE decisions ADD CONSTRAINT decisions_verification_once
    CHECK ((verification IS NULL) <> (verification_id IS NULL));
ALTER TABLE decisions ADD CONSTRAINT decisions_output_once CHECK (output IS NULL OR output_id IS NULL);

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
