-- A signing key is trusted only under a certificate of the national root key
-- (postgres; migrations/sqlite holds its twin).
--
-- The certificate (`ansinh keys certify`: JSON, host/src/release/certificate.rs)
-- is stored beside its key, as its file was, and checked against the root key of
-- the configuration each time the key is used: the root is never in the
-- database, so a row written here behind the host's back is not trusted. A key
-- registered before this has none, and signs nothing that runs until it is
-- certified and registered again, which replaces its row here.
CREATE TABLE key_certificates (
    key_id        TEXT PRIMARY KEY REFERENCES signing_keys (id),
    certificate   TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    registered_at TIMESTAMPTZ NOT NULL
);
