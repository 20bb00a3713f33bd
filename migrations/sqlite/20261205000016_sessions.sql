-- Signed-in sessions of the web pages (sqlite; migrations/postgres holds its twin).
--
-- The pages are for people, who sign in (OIDC, or the demo's own sign-in on
-- loopback); the API keeps taking bearer tokens only. A session's cookie holds
-- a random secret, of which only the sha256 is kept here, as for API tokens.
-- Each session has its own CSRF token, which every form of its pages carries
-- and every POST must give back. Signing out ends it; so does its expiry.
CREATE TABLE sessions (
    id          TEXT NOT NULL PRIMARY KEY,         -- public: names the session in logs
    secret_hash TEXT NOT NULL,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    auth        TEXT NOT NULL,                     -- JSON: how the person signed in (trail::Auth)
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    ended_at    TEXT
);
CREATE INDEX sessions_by_account ON sessions (account_id);
