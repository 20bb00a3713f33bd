-- Who acted (SQLite; migrations/postgres holds its twin). Until accounts
-- exist, the acting person is the name given with --as / ANSINH_USER.

ALTER TABLE runs ADD COLUMN created_by TEXT;
ALTER TABLE runs ADD COLUMN evaluated_by TEXT;
ALTER TABLE runs ADD COLUMN issued_by TEXT;

-- Every import that was committed: which file (by content), what it held, who.
CREATE TABLE imports (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('registry', 'enrolment')),
    file        TEXT NOT NULL,                 -- the path as given
    sha256      TEXT NOT NULL,                 -- of the file's bytes
    rows        INTEGER NOT NULL,
    skipped     INTEGER NOT NULL,              -- bad rows left out (--skip-bad-rows)
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
