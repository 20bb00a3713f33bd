-- Decision texts are written once and never changed (postgres;
-- migrations/sqlite holds its twin), and PostgreSQL checks that a decision's
-- texts exist once per statement, not once per row.
--
-- A text is found by its sha256 and shared by every decision that gives the
-- same verdicts, output or reference input; a decision's digest covers the
-- text, so a text changed in place would change every decision that refers
-- to it. It is now append-only, as the audit log is: no UPDATE, DELETE or
-- TRUNCATE.
--
-- The three foreign keys from decisions to decision_texts each ran one
-- lookup, with a row lock on the text, for every decision inserted: of the
-- 8.3 s that 196,031 decisions took to insert (INSERT ... SELECT, 200,000-person
-- demo database), 3.0 s went to these three (psql \timing, the keys dropped
-- in a rolled-back transaction). A statement-level trigger checks the
-- statement's new rows against decision_texts in one join instead, and
-- raises as a foreign key would (SQLSTATE 23503), naming the decision. A text
-- once there stays there (append-only), so the check made at insert holds for
-- good, which is what the keys' row locks were for. SQLite keeps its foreign
-- keys: its checks are lookups in the same process, where they cost little.
CREATE FUNCTION decision_texts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'decision_texts is append-only: a text decisions refer to is never changed or deleted (%)', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER decision_texts_append_only BEFORE UPDATE OR DELETE ON decision_texts
    FOR EACH ROW EXECUTE FUNCTION decision_texts_append_only();
CREATE TRIGGER decision_texts_no_truncate BEFORE TRUNCATE ON decision_texts
    FOR EACH STATEMENT EXECUTE FUNCTION decision_texts_append_only();

CREATE FUNCTION decisions_texts_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing RECORD;
BEGIN
    SELECT n.run_id, n.period, n.beneficiary_id, m.id INTO missing
    FROM new_decisions n
    CROSS JOIN LATERAL (VALUES (n.verification_id), (n.output_id), (n.input_base_id)) AS m (id)
    WHERE m.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM decision_texts t WHERE t.id = m.id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the decision of run %, month %, beneficiary % refers to decision text %, which is not stored',
            missing.run_id, missing.period, missing.beneficiary_id, missing.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER decisions_texts_exist_on_insert AFTER INSERT ON decisions
    REFERENCING NEW TABLE AS new_decisions FOR EACH STATEMENT EXECUTE FUNCTION decisions_texts_exist();
CREATE TRIGGER decisions_texts_exist_on_update AFTER UPDATE ON decisions
    REFERENCING NEW TABLE AS new_decisions FOR EACH STATEMENT EXECUTE FUNCTION decisions_texts_exist();

ALTER TABLE decisions DROP CONSTRAINT decisions_verification_id_fkey,
    DROP CONSTRAINT decisions_output_id_fkey,
    DROP CONSTRAINT decisions_input_base_id_fkey;
