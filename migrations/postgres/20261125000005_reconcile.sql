-- The bank's answers to a run's payments (PostgreSQL; migrations/sqlite holds its twin).

-- Every pain.002 status report applied to a run: which file (by content), what
-- it answered, who applied it and when. A file is recorded once per run:
-- applying it again changes nothing.
CREATE TABLE reconciliations (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id              BIGINT NOT NULL REFERENCES runs (id),
    file                TEXT NOT NULL,             -- the path as given
    sha256              TEXT NOT NULL,             -- of the file's bytes
    message_id          TEXT NOT NULL,             -- GrpHdr/MsgId of the report
    original_message_id TEXT NOT NULL,             -- OrgnlMsgId: the pain.001 it answers
    transactions        BIGINT NOT NULL,             -- TxInfAndSts in the file
    problems            BIGINT NOT NULL,             -- reported, not applied
    reconciled_by       TEXT NOT NULL,
    reconciled_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (run_id, sha256)
);

-- The latest status of each payment the bank has answered for; a payment
-- without a row has had no answer yet. accepted is not final (a later report
-- settles or rejects it); settled and rejected are, and are never overturned
-- by a later report (reconcile reports the contradiction instead).
CREATE TABLE payment_statuses (
    payment_id        BIGINT PRIMARY KEY REFERENCES payments (id),
    status            TEXT NOT NULL CHECK (status IN ('accepted', 'settled', 'rejected')),
    bank_status       TEXT NOT NULL,               -- TxSts as reported: ACSC, RJCT, PDNG...
    reason            TEXT,                        -- StsRsnInf/Rsn/Cd of a rejection: AC04, MD07...
    reconciliation_id BIGINT NOT NULL REFERENCES reconciliations (id),
    CHECK (status = 'rejected' OR reason IS NULL)
);

-- People whose registry record must be checked again before they are paid:
-- a bank said the beneficiary has died (MD07). Until an officer clears the
-- flag (having checked the registry), later runs hold their payment.
CREATE TABLE registry_flags (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    beneficiary_id    BIGINT NOT NULL REFERENCES beneficiaries (id),
    reason            TEXT NOT NULL,               -- the bank's reason code, MD07
    payment_id        BIGINT NOT NULL REFERENCES payments (id),
    reconciliation_id BIGINT NOT NULL REFERENCES reconciliations (id),
    flagged_by        TEXT NOT NULL,
    flagged_at        TIMESTAMPTZ NOT NULL,
    cleared_by        TEXT,
    cleared_at        TIMESTAMPTZ,
    clear_reason      TEXT,
    UNIQUE (payment_id, reason)
);
CREATE INDEX registry_flags_by_beneficiary ON registry_flags (beneficiary_id);
