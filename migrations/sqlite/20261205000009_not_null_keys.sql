-- A PRIMARY KEY column of a rowid table may hold NULL in SQLite (a legacy quirk
-- PostgreSQL does not share): the three tables keyed by text are made again with
-- NOT NULL keys, as migrations/postgres has them (tests/schema.rs compares the two).
-- Their rows move out and back in within this migration's transaction; the foreign
-- keys that point at them are checked once, at commit, and hold again by then.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE kept_plugins AS SELECT * FROM plugins;
DROP TABLE plugins;
CREATE TABLE plugins (
    hash        TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    description TEXT NOT NULL,                 -- JSON of describe()
    bytes       BLOB NOT NULL,
    added_at    TEXT NOT NULL
);
INSERT INTO plugins SELECT * FROM kept_plugins;
DROP TABLE kept_plugins;

CREATE TEMP TABLE kept_signing_keys AS SELECT * FROM signing_keys;
DROP TABLE signing_keys;
CREATE TABLE signing_keys (
    id          TEXT NOT NULL PRIMARY KEY,     -- first 16 hex digits of sha256(public key)
    authority   TEXT NOT NULL,
    public_key  TEXT NOT NULL UNIQUE,          -- ed25519, 32 bytes in hex
    added_by    TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    revoked_by  TEXT,
    revoked_at  TEXT
);
INSERT INTO signing_keys SELECT * FROM kept_signing_keys;
DROP TABLE kept_signing_keys;

CREATE TEMP TABLE kept_engines AS SELECT * FROM engines;
DROP TABLE engines;
CREATE TABLE engines (
    id       TEXT NOT NULL PRIMARY KEY,        -- first 16 hex digits of sha256(identity)
    identity TEXT NOT NULL                     -- canonical JSON
);
INSERT INTO engines SELECT * FROM kept_engines;
DROP TABLE kept_engines;
