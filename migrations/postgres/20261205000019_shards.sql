-- Shards: a run's evaluation cut into ranges of beneficiaries, so that any
-- number of processes (`ansinh worker`, `serve`, `run evaluate`) on any
-- machines share it through this table (postgres; migrations/sqlite holds its twin).
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
    id           BIGSERIAL PRIMARY KEY,
    run_id       BIGINT NOT NULL REFERENCES runs (id),
    period       TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    after_id     BIGINT NOT NULL,
    upto_id      BIGINT,
    actor        TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    decided      BIGINT NOT NULL DEFAULT 0,
    error        TEXT,
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    heartbeat_at TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ
);
-- A run is cut once: planning twice at once makes the same rows once.
CREATE UNIQUE INDEX shards_once ON shards (run_id, period, seq);
-- What is still to do, in order.
CREATE INDEX shards_open ON shards (run_id, id) WHERE finished_at IS NULL;
