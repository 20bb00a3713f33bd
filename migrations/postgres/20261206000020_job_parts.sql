-- Job parts: a long read-only job (a full replay, a what-if) cut into ranges
-- of a run's decisions, so that every worker sharing the database does a
-- part of it, as the shards of an evaluation (postgres; migrations/sqlite holds its twin).
--
-- A part is one month of the job's run and the decisions of beneficiaries
-- with after_id < beneficiary_id <= upto_id (no upper bound when upto_id is
-- NULL). A process claims one under a lease (`lease_owner` until
-- `lease_until`, moved on by its heartbeat), does it, and records what it
-- found (`result`, JSON) with `finished_at` in one statement. A part is
-- read-only work: one whose holder died is simply done again by whoever
-- claims it once its lease has run out. The job's holder merges the results
-- in order once every part is finished.
CREATE TABLE job_parts (
    id           BIGSERIAL PRIMARY KEY,
    job_id       BIGINT NOT NULL REFERENCES jobs (id),
    period       TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    after_id     BIGINT NOT NULL,
    upto_id      BIGINT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    done         BIGINT NOT NULL DEFAULT 0,
    error        TEXT,
    result       TEXT,
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    heartbeat_at TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ
);
-- A job is cut once: planning twice at once makes the same rows once.
CREATE UNIQUE INDEX job_parts_once ON job_parts (job_id, seq);
-- What is still to do, in order.
CREATE INDEX job_parts_open ON job_parts (job_id, id) WHERE finished_at IS NULL;
