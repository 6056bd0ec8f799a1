-- The OpenID provider: twofold signs people into other apps with OpenID
-- Connect. oidc_clients are the registered apps (client_id is id, random;
-- a confidential client keeps the keyed hash of its secret, a public one ''
-- and must use PKCE; redirect URIs one a line, matched exactly; id_token_alg
-- is how its ID tokens are signed, RS256 or ES256).
-- oidc_auth_requests holds each authorization request from its arrival
-- until its code is exchanged or it expires: params is the request as the
-- app sent it; user_id, security_version, auth_time and amr (space-
-- separated) are set once, by the sign-in that satisfies it, with
-- session_hash, the token hash of the session that did (only that browser
-- collects the code); code_hash once,
-- when its code is handed out. oidc_subjects gives each account, on its
-- first OpenID sign-in, a random "sub" that never changes. oidc_grants is
-- what one code exchange gave an app (scopes space-separated, the sign-in's
-- amr, auth_time and the account's security version then); revoked_at ends
-- it. oidc_access_tokens (by id, which the token carries encrypted) and
-- oidc_refresh_tokens (by hash; used_at set at its one exchange) belong to a
-- grant. oidc_signing_keys are the private keys that sign ID tokens, sealed
-- with the server key key_id; at most one per algorithm is active (not
-- retired), which a unique partial index enforces so that instances
-- generating the first key together make one. Deleting a client or an
-- account deletes its rows here. Earlier versions ignore all of it.

-- +goose Up
CREATE TABLE oidc_clients (
    id                        TEXT    PRIMARY KEY,
    name                      TEXT    NOT NULL,
    secret_hash               TEXT    NOT NULL DEFAULT '',
    public                    INTEGER NOT NULL DEFAULT 0,
    redirect_uris             TEXT    NOT NULL DEFAULT '',
    post_logout_redirect_uris TEXT    NOT NULL DEFAULT '',
    require_two_factor        INTEGER NOT NULL DEFAULT 0,
    id_token_alg              TEXT    NOT NULL DEFAULT 'RS256',
    created_at                INTEGER NOT NULL
);

CREATE TABLE oidc_auth_requests (
    id               TEXT    PRIMARY KEY,
    client_id        TEXT    NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    params           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    user_id          INTEGER REFERENCES users (id) ON DELETE CASCADE,
    security_version INTEGER NOT NULL DEFAULT 0,
    auth_time        INTEGER,
    amr              TEXT    NOT NULL DEFAULT '',
    session_hash     TEXT,
    code_hash        TEXT    UNIQUE
);
CREATE INDEX oidc_auth_requests_client_id ON oidc_auth_requests (client_id);
CREATE INDEX oidc_auth_requests_user_id ON oidc_auth_requests (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX oidc_auth_requests_expires_at ON oidc_auth_requests (expires_at);

CREATE TABLE oidc_subjects (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    subject TEXT    NOT NULL UNIQUE
);

CREATE TABLE oidc_grants (
    id               INTEGER PRIMARY KEY,
    client_id        TEXT    NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes           TEXT    NOT NULL DEFAULT '',
    amr              TEXT    NOT NULL DEFAULT '',
    auth_time        INTEGER NOT NULL,
    security_version INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    revoked_at       INTEGER
);
CREATE INDEX oidc_grants_client_id ON oidc_grants (client_id);
CREATE INDEX oidc_grants_user_id ON oidc_grants (user_id);
CREATE INDEX oidc_grants_revoked ON oidc_grants (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE oidc_access_tokens (
    id         TEXT    PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_access_tokens_grant_id ON oidc_access_tokens (grant_id);
CREATE INDEX oidc_access_tokens_expires_at ON oidc_access_tokens (expires_at);

CREATE TABLE oidc_refresh_tokens (
    token_hash TEXT    PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX oidc_refresh_tokens_grant_id ON oidc_refresh_tokens (grant_id);
CREATE INDEX oidc_refresh_tokens_expires_at ON oidc_refresh_tokens (expires_at);

CREATE TABLE oidc_signing_keys (
    id         TEXT    PRIMARY KEY,
    algorithm  TEXT    NOT NULL,
    key_id     TEXT    NOT NULL,
    ciphertext BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);
CREATE UNIQUE INDEX oidc_signing_keys_active ON oidc_signing_keys (algorithm) WHERE retired_at IS NULL;

-- +goose Down
DROP TABLE oidc_signing_keys;
DROP TABLE oidc_refresh_tokens;
DROP TABLE oidc_access_tokens;
DROP TABLE oidc_grants;
DROP TABLE oidc_subjects;
DROP TABLE oidc_auth_requests;
DROP TABLE oidc_clients;
