-- Times are Unix milliseconds (UTC) in INTEGER columns, so the PostgreSQL
-- schema can be the same table for table and column for column.

-- +goose Up
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    email               TEXT    NOT NULL UNIQUE,
    name                TEXT    NOT NULL,
    mobile_phone        TEXT    NOT NULL DEFAULT '',
    password_hash       TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    -- The enabled authenticator: AES-256-GCM ciphertext and the id of the key that sealed it.
    totp_key_id         TEXT,
    totp_secret         BLOB,
    totp_last_step      INTEGER NOT NULL DEFAULT 0,
    totp_enabled_at     INTEGER,
    -- A setup in progress, not yet proven by a code.
    totp_pending_key_id TEXT,
    totp_pending_secret BLOB
);

CREATE TABLE sessions (
    token_hash       TEXT    PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stage            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    authenticated_at INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    ip               TEXT    NOT NULL DEFAULT '',
    user_agent       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE backup_codes (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_id     TEXT    NOT NULL,
    code_hash  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    UNIQUE (user_id, code_hash)
);

CREATE TABLE throttle_attempts (
    id           INTEGER PRIMARY KEY,
    key          TEXT    NOT NULL,
    attempted_at INTEGER NOT NULL
);
CREATE INDEX throttle_attempts_key ON throttle_attempts (key, attempted_at);

CREATE TABLE security_events (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX security_events_user_id ON security_events (user_id, id);

-- +goose Down
DROP TABLE security_events;
DROP TABLE throttle_attempts;
DROP TABLE backup_codes;
DROP TABLE sessions;
DROP TABLE users;
