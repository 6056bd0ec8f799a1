-- The settings administrators change for the whole server, one row:
-- "Require 2FA for all users", its grace period in days, and since when
-- it has been on (the grace period counts from then, or from an account's
-- creation when that is later). Earlier versions ignore the table.

-- +goose Up
CREATE TABLE settings (
    id                 BIGINT PRIMARY KEY CHECK (id = 1),
    require_two_factor BIGINT NOT NULL DEFAULT 0,
    grace_period_days  BIGINT NOT NULL DEFAULT 0,
    required_since     BIGINT
);
INSERT INTO settings (id) VALUES (1);

-- +goose Down
DROP TABLE settings;
