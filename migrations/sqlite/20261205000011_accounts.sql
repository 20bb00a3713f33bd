-- Accounts, their roles and scopes, and API tokens (sqlite; migrations/postgres holds its twin).
--
-- Who acts is an account, never a typed name: four-eyes compares accounts.
-- An account is a person's (signs in, may approve) or a machine's (a token
-- for a service, never approves). Roles and scopes are rows, each granted by
-- someone at some time (and an audit entry), so that a grant can be shown
-- beside the approvals it made possible. A scope is 'national' or
-- 'province:CODE'; a 'commune:CODE' scope can be added without a new table.
CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('person', 'machine')),
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE account_roles (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    role       TEXT NOT NULL CHECK (role IN ('author', 'officer', 'approver', 'auditor', 'admin')),
    granted_at TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    PRIMARY KEY (account_id, role)
);

CREATE TABLE account_scopes (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    scope      TEXT NOT NULL CHECK (scope = 'national' OR scope LIKE 'province:___'),
    granted_at TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    PRIMARY KEY (account_id, scope)
);

-- A token is shown once; only the sha256 of its secret is kept. Its id is
-- public (it is in the token, and in audit entries) and finds the row.
CREATE TABLE api_tokens (
    id          TEXT NOT NULL PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX api_tokens_by_account ON api_tokens (account_id);
