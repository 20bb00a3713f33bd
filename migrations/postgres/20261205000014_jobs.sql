-- Jobs: the long actions of the service (evaluate, issue, ...), kept in the
-- database so that any server, or a later worker, finishes what another began
-- (postgres; migrations/sqlite holds its twin).
--
-- A job is queued by an account (its owner, and the actor it acts as), then
-- claimed by one process at a time: `lease_owner` holds it until
-- `lease_until`, which the holder's heartbeat moves on while it works. A
-- process that dies stops beating; once its lease has run out another claims
-- the job and runs it again, and the actions are resumable, so it finishes.
CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    params       TEXT NOT NULL,
    owner        BIGINT NOT NULL REFERENCES accounts (id),
    actor        TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    done         BIGINT NOT NULL DEFAULT 0,
    total        BIGINT NOT NULL DEFAULT 0,
    attempts     BIGINT NOT NULL DEFAULT 0,
    result       TEXT,
    error        TEXT,
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    heartbeat_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ
);
-- What is still to do, oldest first.
CREATE INDEX jobs_open ON jobs (state, id);
-- One open job per action and subject: asking twice gives the same job.
CREATE UNIQUE INDEX jobs_once ON jobs (kind, subject) WHERE finished_at IS NULL;
