-- The web page's local users (scrypt hashes, appliance/web/passwords.py) and the audit
-- trail of what they did through it (one row per control action, login and logout).
CREATE TABLE web_users (
    name                TEXT PRIMARY KEY,
    password            TEXT NOT NULL,      -- scrypt$n$r$p$salt$hash
    created_at          REAL NOT NULL,
    password_changed_at REAL NOT NULL       -- sessions signed before it are void
);

CREATE TABLE web_audit (
    id      INTEGER PRIMARY KEY,
    at      REAL NOT NULL,
    who     TEXT NOT NULL,                  -- a user, 'api-token', or the name tried at login
    action  TEXT NOT NULL,                  -- 'job-retry', 'burn', 'login'...
    target  TEXT NOT NULL DEFAULT '',
    result  TEXT NOT NULL CHECK (result IN ('done', 'refused')),
    detail  TEXT NOT NULL DEFAULT ''        -- the sentence the user was given
);
CREATE INDEX web_audit_at ON web_audit (at);
