-- Inputs stored compactly (SQLite; migrations/postgres holds its twin). A
-- plug-in's input is about 260 bytes of canonical JSON, most of it the same
-- keys and values from one person to the next: a decision now keeps it packed
-- by zstd (`input_packed`) against its run's reference input, stored once in
-- decision_texts (`input_base_id`) as zstd's dictionary (store/packed.rs).
-- Unpacked, it is the exact bytes the plug-in was given, which the decision's
-- digest covers. Decisions made before keep their input inline in `input`.
--
-- SQL alone cannot unpack an input: decision_rows gives the packed bytes and
-- their reference, and ansinh (audit bundle, the person's page) the text.
ALTER TABLE decisions ADD COLUMN input_packed BLOB
    CHECK (input_packed IS NULL OR input IS NULL);
ALTER TABLE decisions ADD COLUMN input_base_id INTEGER REFERENCES decision_texts (id)
    CHECK ((input_packed IS NULL) = (input_base_id IS NULL));

DROP VIEW decision_rows;
CREATE VIEW decision_rows AS
SELECT d.run_id, d.period, d.beneficiary_id, d.outcome, d.amount, d.category,
       COALESCE(v.text, d.verification) AS verification, d.plugin_hash, d.engine, d.input,
       COALESCE(o.text, d.output) AS output, d.error, d.fuel, d.exception, d.channel, d.bank_bin,
       d.account_number, d.account_name, d.payee_name, d.commune, d.digest,
       d.input_packed, b.text AS input_base
FROM decisions d
LEFT JOIN decision_texts v ON v.id = d.verification_id
LEFT JOIN decision_texts o ON o.id = d.output_id
LEFT JOIN decision_texts b ON b.id = d.input_base_id;
