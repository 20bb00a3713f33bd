-- People sign in with OpenID Connect (sqlite; migrations/postgres holds its twin).
--
-- An admin links an OpenID provider's subject (the `sub` of its access
-- tokens, under its issuer `iss`) to a person's account: that subject's
-- tokens then act as the account. A subject is linked to one account; the
-- link is recorded with who made it and when (and an audit entry).
CREATE TABLE account_oidc (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    linked_at  TEXT NOT NULL,
    linked_by  TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX account_oidc_by_account ON account_oidc (account_id);
