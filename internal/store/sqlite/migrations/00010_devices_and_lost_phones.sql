-- Remembered devices and the way back for a lost phone.
--
-- Remembered devices: a browser where the person ticked "Remember this
-- device" skips the code step until expires_at. Only hashes of the device
-- tokens are kept: the current one, and in remembered_device_tokens every
-- one it replaced at a use (a copy of one of those coming back means two
-- browsers held the token).
-- sessions.second_factor says how a session's second factor was satisfied
-- ('totp', 'backup_code', 'device'; '' for none). Instances of an earlier
-- version ignore both: they always ask for the code, and do not forget
-- devices when a password changes, so stop them before upgrading.
--
-- help_requests: "Lost your phone?" at the code step asks the
-- administrators for help; open until a reset (or an administrator)
-- resolves it. phone_verifications: a 6-digit code texted to the number on
-- file, kept as a keyed hash, that the person reads back to an
-- administrator; it proves the phone for a reset within 15 minutes, once
-- (purpose 'admin'), or proves it for a self-recovery (purpose 'recovery'),
-- which then waits out settings.recovery_delay_hours (0: self-recovery is
-- off) in recoveries before the next password sign-in resets 2FA.

-- +goose Up
ALTER TABLE sessions ADD COLUMN second_factor TEXT NOT NULL DEFAULT '';

CREATE TABLE remembered_devices (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash    TEXT    NOT NULL UNIQUE,
    user_agent    TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX remembered_devices_user_id ON remembered_devices (user_id);
CREATE INDEX remembered_devices_expires_at ON remembered_devices (expires_at);

CREATE TABLE remembered_device_tokens (
    token_hash TEXT    PRIMARY KEY,
    device_id  INTEGER NOT NULL REFERENCES remembered_devices (id) ON DELETE CASCADE
);
CREATE INDEX remembered_device_tokens_device_id ON remembered_device_tokens (device_id);

CREATE TABLE help_requests (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message     TEXT    NOT NULL DEFAULT '',
    ip          TEXT    NOT NULL DEFAULT '',
    user_agent  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    resolved_by TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX help_requests_open ON help_requests (user_id) WHERE resolved_at IS NULL;

CREATE TABLE phone_verifications (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    phone       TEXT    NOT NULL,
    code_hash   TEXT    NOT NULL,
    sent_by     TEXT    NOT NULL,
    purpose     TEXT    NOT NULL DEFAULT 'admin',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    failures    INTEGER NOT NULL DEFAULT 0,
    verified_at INTEGER,
    consumed_at INTEGER
);
CREATE INDEX phone_verifications_user_id ON phone_verifications (user_id, purpose, id);

CREATE TABLE recoveries (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cancel_token_hash TEXT    NOT NULL UNIQUE,
    created_at        INTEGER NOT NULL,
    effective_at      INTEGER NOT NULL,
    ip                TEXT    NOT NULL DEFAULT '',
    user_agent        TEXT    NOT NULL DEFAULT '',
    cancelled_at      INTEGER,
    cancelled_by      TEXT    NOT NULL DEFAULT '',
    completed_at      INTEGER
);
CREATE UNIQUE INDEX recoveries_pending ON recoveries (user_id) WHERE cancelled_at IS NULL AND completed_at IS NULL;

ALTER TABLE settings ADD COLUMN recovery_delay_hours INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE settings DROP COLUMN recovery_delay_hours;
DROP TABLE recoveries;
DROP TABLE phone_verifications;
DROP TABLE help_requests;
DROP TABLE remembered_device_tokens;
DROP TABLE remembered_devices;
ALTER TABLE sessions DROP COLUMN second_factor;
