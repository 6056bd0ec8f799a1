-- Remembered devices: a browser where the person ticked "Remember this
-- device" skips the code step until expires_at. Only hashes of the device
-- tokens are kept: the current one and the one it replaced at its last use
-- (a copy of that one coming back means two browsers hold the token).
-- sessions.second_factor says how a session's second factor was satisfied
-- ('totp', 'backup_code', 'device'; '' for none). Instances of an earlier
-- version ignore both: they always ask for the code, and do not forget
-- devices when a password changes, so stop them before upgrading.

-- +goose Up
ALTER TABLE sessions ADD COLUMN second_factor TEXT NOT NULL DEFAULT '';

CREATE TABLE remembered_devices (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash    TEXT    NOT NULL UNIQUE,
    previous_hash TEXT,
    user_agent    TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX remembered_devices_user_id ON remembered_devices (user_id);
CREATE INDEX remembered_devices_previous_hash ON remembered_devices (previous_hash) WHERE previous_hash IS NOT NULL;
CREATE INDEX remembered_devices_expires_at ON remembered_devices (expires_at);

-- +goose Down
DROP TABLE remembered_devices;
ALTER TABLE sessions DROP COLUMN second_factor;
