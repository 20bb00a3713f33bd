-- Signed, approved plug-in releases and the keys that sign them (PostgreSQL).
-- migrations/sqlite holds its twin.

-- Public keys that may sign releases. An authority is `national` or a
-- 3-digit province code; a key signs for its authority only.
CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,              -- first 16 hex digits of sha256(public key)
    authority   TEXT NOT NULL,
    public_key  TEXT NOT NULL UNIQUE,          -- ed25519, 32 bytes in hex
    added_by    TEXT NOT NULL,
    added_at    TIMESTAMPTZ NOT NULL,
    revoked_by  TEXT,
    revoked_at  TIMESTAMPTZ
);

-- A plug-in released for one programme: uploaded → signed → approved →
-- active (from a month) → retired. Which release decides a month is the
-- host's choice, from the active releases' effective months.
CREATE TABLE releases (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plugin_hash    TEXT NOT NULL REFERENCES plugins (hash),
    authority      TEXT NOT NULL,              -- from the plug-in's description
    program        TEXT NOT NULL,
    cases          TEXT NOT NULL,              -- the YAML cases shipped with it
    state          TEXT NOT NULL CHECK (state IN ('uploaded', 'signed', 'approved', 'active', 'retired')),
    uploaded_by    TEXT NOT NULL,
    uploaded_at    TIMESTAMPTZ NOT NULL,
    key_id         TEXT REFERENCES signing_keys (id),
    signature      TEXT,                       -- ed25519 over release::signed_message, hex
    signed_by      TEXT,
    signed_at      TIMESTAMPTZ,
    approved_by    TEXT,
    approved_at    TIMESTAMPTZ,
    approval       TEXT,                       -- what approval checked: cases, fuel
    effective_from TEXT,                       -- YYYY-MM
    activated_by   TEXT,
    activated_at   TIMESTAMPTZ,
    retired_by     TEXT,
    retired_at     TIMESTAMPTZ,
    -- A release withdrawn before it was signed has no signature.
    CHECK (state IN ('uploaded', 'retired') OR (signature IS NOT NULL AND key_id IS NOT NULL)),
    CHECK (state NOT IN ('approved', 'active') OR approved_by IS NOT NULL),
    CHECK (state <> 'active' OR effective_from IS NOT NULL)
);
-- A plug-in is released once per programme at a time; retired, it may be
-- uploaded again (e.g. with corrected cases).
CREATE UNIQUE INDEX releases_once ON releases (plugin_hash, program) WHERE state <> 'retired';
-- Two releases in force from the same month would make the choice a guess.
CREATE UNIQUE INDEX releases_in_force ON releases (authority, program, effective_from) WHERE state = 'active';

-- The release that decides a run (NULL for runs made before releases).
ALTER TABLE runs ADD COLUMN release_id BIGINT REFERENCES releases (id);
