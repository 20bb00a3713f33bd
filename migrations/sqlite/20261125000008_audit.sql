-- The audit trail (SQLite; migrations/postgres holds its twin): the engine
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
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,                   -- RFC 3339, UTC
    actor     TEXT NOT NULL,                   -- --as
    action    TEXT NOT NULL,                   -- run.issue, release.sign...
    subject   TEXT NOT NULL,                   -- run:12, release:3, import:7...
    details   TEXT NOT NULL,                   -- canonical JSON: hashes of what it touched
    prev_hash TEXT NOT NULL UNIQUE,            -- a chain cannot fork
    hash      TEXT NOT NULL UNIQUE,
    CHECK (seq >= 1)
);

-- Entries are never changed or deleted: the database refuses it.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: an entry is never changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: an entry is never deleted');
END;

-- The chain's tip. Appending updates this row first, which takes the write
-- lock, so appenders queue instead of forking the chain; and a log cut short
-- at its end no longer reaches the tip, which `audit verify` reports.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
