-- Decisions and payments check what they refer to once a statement
-- (PostgreSQL only: SQLite keeps its foreign keys, lookups in the same
-- process that cost it little).
--
-- Migration 21 did this for the texts decisions share. The foreign keys left
-- on decisions to their run, plug-in and engine still ran one lookup with a
-- row lock, through the SPI, for every decision inserted, though a
-- statement's decisions share one of each: of the 5.5-5.9 s that 196,031
-- decisions took to insert (INSERT ... SELECT ... ON CONFLICT DO NOTHING,
-- 200,000-person demo database, psql \timing, rolled-back transactions), 2.4 s
-- went to those three, and 0.9 s to the key to beneficiaries; with the run's
-- evaluation competing for the two cores, the inserts took 15 s of a 21.7 s
-- evaluation (pg_stat_statements). Payments and the cash list paid the same
-- for their keys to their run and to the decision each pays.
--
-- Each of those keys becomes a statement-level trigger that does in one pass
-- what the key did row by row:
-- * it looks up each distinct row referred to once, locking it FOR KEY SHARE
--   as a key does, so that a DELETE of it (or a change of its key) waits for
--   the inserting transaction and then finds what refers to it;
-- * it raises SQLSTATE 23503 (foreign_key_violation), naming the row, if one
--   refers to nothing.
-- And each table referred to gets the other half of a key (NO ACTION): a row
-- trigger that refuses to delete a row, or to change its key, while a row of
-- those tables refers to it. Nothing in ansinh deletes these rows; the
-- guards are for whoever edits the database by hand. The same insert of
-- decisions now takes 3.2-3.5 s. The key from decisions to beneficiaries
-- stays: each decision has its own, and a set-based lock and count of them
-- cost about what the key's lookups do.
--
-- tests/schema.rs lists the keys checked this way (CHECKED_BY_TRIGGERS), so
-- that the two backends' schemas still compare; tests/store.rs proves both
-- halves of each on both backends.

-- The half of a key on the table referred to: TG_ARGV[0] is the table that
-- refers, TG_ARGV[1] its columns, TG_ARGV[2] the columns of this table they
-- refer to (comma-separated, in the same order).
CREATE FUNCTION refuse_if_referred_to() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    referring TEXT := TG_ARGV[0];
    columns TEXT := TG_ARGV[1];
    keys TEXT := TG_ARGV[2];
    old_key TEXT;
    new_key TEXT;
    referred BOOLEAN;
BEGIN
    EXECUTE format('SELECT ROW(%s)::text FROM (SELECT ($1).*) o', keys) INTO old_key USING OLD;
    IF TG_OP = 'UPDATE' THEN
        EXECUTE format('SELECT ROW(%s)::text FROM (SELECT ($1).*) o', keys) INTO new_key USING NEW;
    END IF;
    IF new_key IS DISTINCT FROM old_key THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE (%s) = (SELECT %s FROM (SELECT ($1).*) o))',
                       referring, columns, keys)
            INTO referred USING OLD;
        IF referred THEN
            RAISE EXCEPTION '% on table % violates the reference from table %: a row of % still refers to (%) = %',
                TG_OP, TG_TABLE_NAME, referring, referring, keys, old_key
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

-- Decisions: their run, plug-in and engine, and (migration 21) their texts. A
-- statement's decisions share one run, plug-in and engine and a few hundred
-- texts: each is looked up (and locked) once, by its distinct value.
CREATE FUNCTION decisions_refer_to_stored_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    shared RECORD;
    what TEXT;
    key TEXT;
    missing RECORD;
BEGIN
    FOR shared IN SELECT DISTINCT run_id, plugin_hash, engine FROM new_decisions LOOP
        PERFORM 1 FROM runs WHERE id = shared.run_id FOR KEY SHARE;
        IF NOT FOUND THEN
            what := 'run';
            key := shared.run_id::text;
            EXIT;
        END IF;
        PERFORM 1 FROM plugins WHERE hash = shared.plugin_hash FOR KEY SHARE;
        IF NOT FOUND THEN
            what := 'plug-in';
            key := shared.plugin_hash;
            EXIT;
        END IF;
        IF shared.engine IS NOT NULL THEN
            PERFORM 1 FROM engines WHERE id = shared.engine FOR KEY SHARE;
            IF NOT FOUND THEN
                what := 'engine';
                key := shared.engine;
                EXIT;
            END IF;
        END IF;
    END LOOP;
    IF what IS NULL THEN
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
    WHERE key IN (n.run_id::text, n.plugin_hash, n.engine, n.verification_id::text, n.output_id::text,
                  n.input_base_id::text)
    LIMIT 1;
    RAISE EXCEPTION 'the decision of run %, month %, beneficiary % refers to % %, which is not stored',
        missing.run_id, missing.period, missing.beneficiary_id, what, key
        USING ERRCODE = 'foreign_key_violation';
END
$$;

DROP TRIGGER decisions_texts_exist_on_insert ON decisions;
DROP TRIGGER decisions_texts_exist_on_update ON decisions;
DROP FUNCTION decisions_texts_exist();
CREATE TRIGGER decisions_refer_on_insert AFTER INSERT ON decisions
    REFERENCING NEW TABLE AS new_decisions FOR EACH STATEMENT EXECUTE FUNCTION decisions_refer_to_stored_rows();
CREATE TRIGGER decisions_refer_on_update AFTER UPDATE ON decisions
    REFERENCING NEW TABLE AS new_decisions FOR EACH STATEMENT EXECUTE FUNCTION decisions_refer_to_stored_rows();
ALTER TABLE decisions DROP CONSTRAINT decisions_run_id_fkey,
    DROP CONSTRAINT decisions_plugin_hash_fkey,
    DROP CONSTRAINT decisions_engine_fkey;

-- Payments and the cash list: their run, and the decision each pays, locked
-- in one pass and counted against the distinct decisions the rows pay.
CREATE FUNCTION payments_refer_to_stored_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing RECORD;
BEGIN
    IF (SELECT COUNT(*) FROM (SELECT DISTINCT run_id FROM new_payments) AS runs)
       + (SELECT COUNT(*) FROM (SELECT DISTINCT run_id, period, beneficiary_id FROM new_payments) AS paid)
       = (SELECT COUNT(*) FROM (SELECT 1 FROM runs WHERE id IN (SELECT run_id FROM new_payments)
                                FOR KEY SHARE) AS locked)
         + (SELECT COUNT(*) FROM (SELECT 1 FROM decisions d WHERE (d.run_id, d.period, d.beneficiary_id)
                                      IN (SELECT run_id, period, beneficiary_id FROM new_payments)
                                  FOR KEY SHARE) AS locked) THEN
        RETURN NULL;
    END IF;
    SELECT n.run_id, n.period, n.beneficiary_id INTO missing
    FROM new_payments n
    WHERE NOT EXISTS (SELECT 1 FROM decisions d
                      WHERE d.run_id = n.run_id AND d.period = n.period AND d.beneficiary_id = n.beneficiary_id)
    LIMIT 1;
    RAISE EXCEPTION 'a row of % pays the decision of run %, month %, beneficiary %, which is not stored',
        TG_TABLE_NAME, missing.run_id, missing.period, missing.beneficiary_id
        USING ERRCODE = 'foreign_key_violation';
END
$$;

CREATE TRIGGER payments_refer_on_insert AFTER INSERT ON payments
    REFERENCING NEW TABLE AS new_payments FOR EACH STATEMENT EXECUTE FUNCTION payments_refer_to_stored_rows();
CREATE TRIGGER payments_refer_on_update AFTER UPDATE ON payments
    REFERENCING NEW TABLE AS new_payments FOR EACH STATEMENT EXECUTE FUNCTION payments_refer_to_stored_rows();
CREATE TRIGGER cash_payments_refer_on_insert AFTER INSERT ON cash_payments
    REFERENCING NEW TABLE AS new_payments FOR EACH STATEMENT EXECUTE FUNCTION payments_refer_to_stored_rows();
CREATE TRIGGER cash_payments_refer_on_update AFTER UPDATE ON cash_payments
    REFERENCING NEW TABLE AS new_payments FOR EACH STATEMENT EXECUTE FUNCTION payments_refer_to_stored_rows();
ALTER TABLE payments DROP CONSTRAINT payments_run_id_fkey,
    DROP CONSTRAINT payments_run_id_period_beneficiary_id_fkey;
ALTER TABLE cash_payments DROP CONSTRAINT cash_payments_run_id_fkey,
    DROP CONSTRAINT cash_payments_run_id_period_beneficiary_id_fkey;

-- The other half: what is referred to stays while referred to.
CREATE TRIGGER runs_referred_to_by_decisions BEFORE DELETE OR UPDATE OF id ON runs
    FOR EACH ROW EXECUTE FUNCTION refuse_if_referred_to('decisions', 'run_id', 'id');
CREATE TRIGGER runs_referred_to_by_payments BEFORE DELETE OR UPDATE OF id ON runs
    FOR EACH ROW EXECUTE FUNCTION refuse_if_referred_to('payments', 'run_id', 'id');
CREATE TRIGGER runs_referred_to_by_cash_payments BEFORE DELETE OR UPDATE OF id ON runs
    FOR EACH ROW EXECUTE FUNCTION refuse_if_referred_to('cash_payments', 'run_id', 'id');
CREATE TRIGGER plugins_referred_to_by_decisions BEFORE DELETE OR UPDATE OF hash ON plugins
    FOR EACH ROW EXECUTE FUNCTION refuse_if_referred_to('decisions', 'plugin_hash', 'hash');
CREATE TRIGGER engines_referred_to_by_decisions BEFORE DELETE OR UPDATE OF id ON engines
    FOR EACH ROW EXECUTE FUNCTION refuse_if_referred_to('decisions', 'engine', 'id');
CREATE TRIGGER decisions_referred_to_by_payments BEFORE DELETE OR UPDATE OF run_id, period, beneficiary_id
    ON decisions FOR EACH ROW
    EXECUTE FUNCTION refuse_if_referred_to('payments', 'run_id, period, beneficiary_id', 'run_id, period, beneficiary_id');
CREATE TRIGGER decisions_referred_to_by_cash_payments BEFORE DELETE OR UPDATE OF run_id, period, beneficiary_id
    ON decisions FOR EACH ROW
    EXECUTE FUNCTION refuse_if_referred_to('cash_payments', 'run_id, period, beneficiary_id',
                                           'run_id, period, beneficiary_id');
