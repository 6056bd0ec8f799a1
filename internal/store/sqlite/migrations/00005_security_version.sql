-- A per-user security version, bumped in the same transaction by every
-- change that must end other sessions or invalidate what a request in
-- flight read (password, 2FA on or off, backup codes, phone number): a
-- sign-in is written only if the version it checked is still current.

-- +goose Up
ALTER TABLE users ADD COLUMN security_version INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN security_version;
