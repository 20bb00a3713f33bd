-- Decision texts are written once and never changed (SQLite;
-- migrations/postgres holds its twin).
--
-- A text is found by its sha256 and shared by every decision that gives the
-- same verdicts, output or reference input; a decision's digest covers the
-- text, so a text changed in place would change every decision that refers
-- to it. It is now append-only, as the audit log is. SQLite keeps the foreign
-- keys from decisions to decision_texts, checked row by row in the same
-- process at little cost; PostgreSQL checks them once per statement instead.
CREATE TRIGGER decision_texts_no_update BEFORE UPDATE ON decision_texts
BEGIN
    SELECT RAISE(ABORT, 'decision_texts is append-only: a text decisions refer to is never changed');
END;
CREATE TRIGGER decision_texts_no_delete BEFORE DELETE ON decision_texts
BEGIN
    SELECT RAISE(ABORT, 'decision_texts is append-only: a text decisions refer to is never deleted');
END;
