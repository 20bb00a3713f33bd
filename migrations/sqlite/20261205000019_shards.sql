-- Shards: a run's evaluation cut into ranges of beneficiaries, so that any
-- number of processes (`ansinh worker`, `serve`, `run evaluate`) on any
-- machines share it through this table (sqlite; migrations/postgres holds its twin).
--
-- A shard is one month of a run and the beneficiaries with after_id < id <=
-- upto_id (no upper bound when upto_id is NULL, so that the last shard takes
-- whoever is enrolled later). A process claims one under a lease
-- (`lease_owner` until `lease_until`, moved on by its heartbeat), decides
-- it, committing batch by batch, and marks it finished; a shard whose holder
-- died is claimed again once its lease has run out, and goes on from the
-- beneficiaries still without a decision. Whoever finishes the last one seals
-- the run, as `actor`: who asked for the evaluation.
CREATE TABLE shards (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs (id),
    period       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    after_id     INTEGER NOT NULL,
    upto_id      INTEGER,
    actor        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    decided      INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    lease_owner  TEXT,
    lease_until  TEXT,
    heartbeat_at TEXT,
    finished_at  TEXT
);
-- A run is cut once: planning twice at once makes the same rows once.
CREATE UNIQUE INDEX shards_once ON shards (run_id, period, seq);
-- What is still to do, in order.
CREATE INDEX shards_open ON shards (run_id, id) WHERE finished_at IS NULL;
