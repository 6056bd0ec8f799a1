-- Protected apps: the apps behind a reverse proxy that asks twofold, on
-- every request, who may enter (forward-auth). A host pattern
-- ("app.example.com" or "*.example.com") and a path prefix ('' for every
-- path, else "/…/"), who may enter ('everyone' signed in or 'admins'),
-- and whether the app needs 2FA on. Hosts no app lists follow the
-- settings' default_app_access ('everyone' or 'deny'). apps_version counts
-- the changes to the apps: each decision reads it with the session, and an
-- instance's copy of the apps is used only while it is of that version.
-- Earlier versions ignore all of it and answer no forward-auth checks.

-- +goose Up
CREATE TABLE protected_apps (
    id                 INTEGER PRIMARY KEY,
    host               TEXT    NOT NULL,
    path_prefix        TEXT    NOT NULL DEFAULT '',
    access             TEXT    NOT NULL,
    require_two_factor INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    UNIQUE (host, path_prefix)
);
ALTER TABLE settings ADD COLUMN default_app_access TEXT NOT NULL DEFAULT 'everyone';
ALTER TABLE settings ADD COLUMN apps_version INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE settings DROP COLUMN apps_version;
ALTER TABLE settings DROP COLUMN default_app_access;
DROP TABLE protected_apps;
