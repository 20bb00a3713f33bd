-- The audit trail (PostgreSQL; migrations/sqlite holds its twin): the engine
-- that made each decision, a digest of each decision, and the hash-chained,
-- append-only log of every action that changed state (host/src/audit/).

-- An engine identity: the wasmtime version and the sandbox settings that can
-- change a decision (sandbox::EngineIdentity), by a short hash of its JSON.
CREATE TABLE engines (
    id       TEXT PRIMARY KEY,                 -- first 16 hex digits of sha256(identity)
    identity TEXT NOT NULL                     -- canonical JSON
);

-- NULL for decisions made before the audit trail.
ALTER TABLE decisions ADD COLUMN engine TEXT REFERENCES engines (id);
-- sha256 of the decision's canonical record (audit::digest), hex: lets
-- `audit verify` name an edited decision; the run's entry in the log holds
-- the chained hash of all of them.
ALTER TABLE decisions ADD COLUMN digest TEXT;

-- One entry per action, chained: hash = sha256 of the entry with the hash of
-- the one before (audit::log). seq has no gaps. at and details are TEXT on
-- both backends, so that what is hashed is exactly what is stored.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TEXT NOT NULL,                   -- RFC 3339, UTC
    actor     TEXT NOT NULL,                   -- --as
    action    TEXT NOT NULL,                   -- run.issue, release.sign...
    subject   TEXT NOT NULL,                   -- run:12, release:3, import:7...
    details   TEXT NOT NULL,                   -- canonical JSON: hashes of what it touched
    prev_hash TEXT NOT NULL UNIQUE,            -- a chain cannot fork
    hash      TEXT NOT NULL UNIQUE,
    CHECK (seq >= 1)
);

-- Entries are never changed or deleted: the database refuses it, row by row
-- and for TRUNCATE. (A deployment should also grant its service role only
-- SELECT and INSERT on audit_log, so that disabling the trigger needs the owner.)
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: an entry is never changed or deleted (%)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The chain's tip. Appending updates this row first, which locks it, so
-- appenders queue instead of forking the chain; and a log cut short at its
-- end no longer reaches the tip, which `audit verify` reports.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
