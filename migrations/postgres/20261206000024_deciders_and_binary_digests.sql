-- Decisions and beneficiaries carry no key twice (PostgreSQL; migrations/sqlite
-- holds its twin, and says what it saves).
--
-- * A decision refers to its plug-in and engine through `deciders`, one row a
--   distinct pair, not by 80 bytes of hex of its own.
-- * A decision's digest is its 32 bytes, not 64 hex digits.
-- * Beneficiaries are unique by (id_number, program, province), which also
--   finds a person's every enrolment: beneficiaries_by_person goes.
-- A decision's canonical record and digest are unchanged: decision_rows and
-- store::decisions read the plug-in, the engine and the digest (hex) back as
-- they were.
--
-- The reference from decisions to deciders is checked once a statement, as
-- migration 22 checks the others of decisions; deciders themselves keep real
-- foreign keys to plugins and engines (a handful of rows, written once).

CREATE TABLE deciders (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plugin_hash TEXT NOT NULL REFERENCES plugins (hash),
    engine      TEXT REFERENCES engines (id),     -- NULL: made before engines were recorded
    UNIQUE (plugin_hash, engine)
);
INSERT INTO deciders (plugin_hash, engine)
SELECT DISTINCT plugin_hash, engine FROM decisions ORDER BY plugin_hash, engine;

DROP VIEW decision_rows;
DROP TRIGGER decisions_refer_on_update ON decisions;
DROP TRIGGER plugins_referred_to_by_decisions ON plugins;
DROP TRIGGER engines_referred_to_by_decisions ON engines;

ALTER TABLE decisions ADD COLUMN decider_id BIGINT;
UPDATE decisions d SET decider_id = m.id
FROM deciders m WHERE m.plugin_hash = d.plugin_hash AND m.engine IS NOT DISTINCT FROM d.engine;
-- A digest that is not 64 hex digits was changed by hand: it is dropped, and
-- replay reports the decision as one whose digest was removed.
ALTER TABLE decisions
    ALTER COLUMN decider_id SET NOT NULL,
    DROP COLUMN plugin_hash,
    DROP COLUMN engine,
    ALTER COLUMN digest TYPE BYTEA USING CASE WHEN digest ~ '^[0-9a-f]{64}$' THEN decode(digest, 'hex') END,
    ADD CONSTRAINT decisions_digest_sha256 CHECK (digest IS NULL OR length(digest) = 32);

-- Decisions: their run, decider and texts, each distinct one looked up (and
-- locked) once a statement.
CREATE OR REPLACE FUNCTION decisions_refer_to_stored_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    what TEXT;
    key TEXT;
    missing RECORD;
BEGIN
    IF (SELECT COUNT(*) FROM (SELECT DISTINCT run_id FROM new_decisions) AS runs)
       <> (SELECT COUNT(*) FROM (SELECT 1 FROM runs WHERE id IN (SELECT run_id FROM new_decisions)
                                 FOR KEY SHARE) AS locked) THEN
        SELECT 'run', n.run_id::text INTO what, key FROM new_decisions n
        WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = n.run_id) LIMIT 1;
    ELSIF (SELECT COUNT(*) FROM (SELECT DISTINCT decider_id FROM new_decisions) AS deciders)
          <> (SELECT COUNT(*) FROM (SELECT 1 FROM deciders WHERE id IN (SELECT decider_id FROM new_decisions)
                                    FOR KEY SHARE) AS locked) THEN
        SELECT 'decider', n.decider_id::text INTO what, key FROM new_decisions n
        WHERE NOT EXISTS (SELECT 1 FROM deciders m WHERE m.id = n.decider_id) LIMIT 1;
    ELSE
        SELECT 'decision text', t.id::text INTO what, key
        FROM (SELECT verification_id FROM new_decisions
              UNION SELECT output_id FROM new_decisions
              UNION SELECT input_base_id FROM new_decisions) AS t (id)
        WHERE t.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM decision_texts d WHERE d.id = t.id)
        LIMIT 1;
    END IF;
    IF what IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT n.run_id, n.period, n.beneficiary_id INTO missing
    FROM new_decisions n
    WHERE key IN (n.run_id::text, n.decider_id::text, n.verification_id::text, n.output_id::text,
                  n.input_base_id::text)
    LIMIT 1;
    RAISE EXCEPTION 'the decision of run %, month %, beneficiary % refers to % %, which is not stored',
        missing.run_id, missing.period, missing.beneficiary_id, what, key
        USING ERRCODE = 'foreign_key_violation';
END
$$;
CREATE TRIGGER decisions_refer_on_update AFTER UPDATE ON decisions
    REFERENCING NEW TABLE AS new_decisions FOR EACH STATEMENT EXECUTE FUNCTION decisions_refer_to_stored_rows();
CREATE TRIGGER deciders_referred_to_by_decisions BEFORE DELETE OR UPDATE OF id ON deciders
    FOR EACH ROW EXECUTE FUNCTION refuse_if_referred_to('decisions', 'decider_id', 'id');

ALTER TABLE beneficiaries
    DROP CONSTRAINT beneficiaries_program_province_id_number_key,
    ADD UNIQUE (id_number, program, province);
DROP INDEX beneficiaries_by_person;

-- Decisions whole, their texts in place and their plug-in, engine and digest
-- as they were written before (the digest as 64 hex digits).
CREATE VIEW decision_rows AS
SELECT d.run_id, d.period, d.beneficiary_id, d.outcome, d.amount, d.category,
       COALESCE(v.text, d.verification) AS verification, m.plugin_hash, m.engine, d.input,
       COALESCE(o.text, d.output) AS output, d.error, d.fuel, d.exception, d.channel, d.bank_bin,
       d.account_number, d.account_name, d.payee_name, d.commune, encode(d.digest, 'hex') AS digest,
       d.input_packed, b.text AS input_base
FROM decisions d
JOIN deciders m ON m.id = d.decider_id
LEFT JOIN decision_texts v ON v.id = d.verification_id
LEFT JOIN decision_texts o ON o.id = d.output_id
LEFT JOIN decision_texts b ON b.id = d.input_base_id;
