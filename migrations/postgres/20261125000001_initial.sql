-- The first schema of ansinh (PostgreSQL). migrations/sqlite holds its twin;
-- both must describe the same tables, columns and keys.

-- The population registry extract (formats.md): the authority on identity.
CREATE TABLE registry_people (
    id_number          TEXT PRIMARY KEY,
    full_name          TEXT NOT NULL,          -- NFC
    birth_date         DATE NOT NULL,
    sex                TEXT NOT NULL CHECK (sex IN ('male', 'female')),
    residence_province TEXT NOT NULL,
    residence_commune  TEXT NOT NULL,
    death_date         DATE                    -- NULL while alive
);

-- Enrolled beneficiaries (formats.md), one row per programme, province and person.
CREATE TABLE beneficiaries (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program            TEXT NOT NULL,
    province           TEXT NOT NULL,
    id_number          TEXT NOT NULL,
    full_name          TEXT NOT NULL,          -- NFC
    birth_date         DATE NOT NULL,
    household          TEXT NOT NULL,
    disability         TEXT NOT NULL,
    has_pension        BOOLEAN NOT NULL,
    difficult_commune  BOOLEAN NOT NULL,
    statuses           TEXT NOT NULL,          -- ';'-separated, as in the CSV
    dependent_children BIGINT NOT NULL CHECK (dependent_children >= 0),
    channel            TEXT NOT NULL CHECK (channel IN ('bank', 'ewallet', 'none')),
    bank_bin           TEXT NOT NULL,
    account_number     TEXT NOT NULL,
    account_name       TEXT NOT NULL,
    UNIQUE (program, province, id_number)
);
CREATE INDEX beneficiaries_by_run_scope ON beneficiaries (program, province, id);

-- Rule plug-ins, content-addressed: the hash is the sha256 of the bytes.
CREATE TABLE plugins (
    hash        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    description TEXT NOT NULL,                 -- JSON of describe()
    bytes       BYTEA NOT NULL,
    added_at    TIMESTAMPTZ NOT NULL
);

-- A payment run: one programme, one province, one paid month, one plug-in.
CREATE TABLE runs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program      TEXT NOT NULL,
    province     TEXT NOT NULL,
    period       TEXT NOT NULL,                -- YYYY-MM
    plugin_hash  TEXT NOT NULL REFERENCES plugins (hash),
    status       TEXT NOT NULL CHECK (status IN ('created', 'evaluated', 'issued')),
    created_at   TIMESTAMPTZ NOT NULL,
    evaluated_at TIMESTAMPTZ,
    issued_at    TIMESTAMPTZ,  -- also the CreDtTm of its pain.001,
    -- and the account it paid from: fixed at the first issue, so that
    -- issuing again writes the same file.
    payer_name   TEXT,
    payer_account TEXT,
    payer_bin    TEXT
);

-- Every decision with what it was given, what it returned and what it cost.
-- input and output are TEXT, not JSONB: JSONB would reorder keys and the stored
-- bytes must be exactly those the plug-in was given, for replay.
CREATE TABLE decisions (
    run_id         BIGINT NOT NULL REFERENCES runs (id),
    beneficiary_id BIGINT NOT NULL REFERENCES beneficiaries (id),
    outcome        TEXT NOT NULL CHECK (outcome IN ('payable', 'not_eligible', 'not_verified', 'no_account', 'plugin_error')),
    amount         BIGINT NOT NULL CHECK (amount >= 0),    -- whole VND per month
    category       TEXT,
    verification   TEXT NOT NULL,                          -- JSON: each check's verdict
    plugin_hash    TEXT NOT NULL REFERENCES plugins (hash),
    input          TEXT,                                   -- canonical JSON given to the plug-in
    output         TEXT,                                   -- canonical JSON it returned
    error          TEXT,                                   -- why there is no output
    fuel           BIGINT NOT NULL,
    PRIMARY KEY (run_id, beneficiary_id)
);

-- Counts and totals by outcome (run show) and the payable decisions (run
-- issue) read from this index alone, never the wide rows with their JSON.
CREATE INDEX decisions_by_outcome ON decisions (run_id, outcome, beneficiary_id, amount);

-- Money that leaves: one row per person, programme and month, ever.
CREATE TABLE payments (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id         BIGINT NOT NULL REFERENCES runs (id),
    beneficiary_id BIGINT NOT NULL,
    program        TEXT NOT NULL,
    period         TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    channel        TEXT NOT NULL CHECK (channel IN ('bank', 'ewallet')),
    bank_bin       TEXT NOT NULL,
    account_number TEXT NOT NULL,
    account_name   TEXT NOT NULL,
    -- Nothing paid twice: the database, not the code, refuses a second payment.
    UNIQUE (program, period, id_number),
    FOREIGN KEY (run_id, beneficiary_id) REFERENCES decisions (run_id, beneficiary_id)
);
CREATE INDEX payments_by_run ON payments (run_id, id);
