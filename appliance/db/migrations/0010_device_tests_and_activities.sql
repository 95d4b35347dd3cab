-- Device tests asked of the running devices role (appliance device test NAME while the box
-- runs): the CLI writes a request, the devices role (which holds the devices) claims it,
-- runs it on the devices it already has open and writes the checks back. A request the
-- CLI gave up on is 'expired' and never run (docs/leds.md, "Device tests while the box runs").
CREATE TABLE device_tests (
    id           INTEGER PRIMARY KEY,
    device       TEXT NOT NULL,               -- a configured station, or 'leds'
    state        TEXT NOT NULL,               -- queued, running, done, expired
    passed       INTEGER,                     -- 1/0 once done
    checks       TEXT NOT NULL DEFAULT '[]',  -- JSON: [{check, passed, detail}]
    requested_by TEXT NOT NULL DEFAULT '',
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE INDEX device_tests_state ON device_tests (state, id);

-- Work done outside the roles that the LEDs and the status page should see (a USB export
-- runs in the CLI's process). The process refreshes its row every few seconds and deletes
-- it when done; a row not refreshed for 10 s is a process that died and is ignored.
CREATE TABLE activities (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,                 -- usb-export
    pid        INTEGER NOT NULL,
    phase      TEXT NOT NULL DEFAULT '',      -- e.g. the USB export state: writing, verifying
    done       INTEGER NOT NULL DEFAULT 0,
    total      INTEGER NOT NULL DEFAULT 0,
    detail     TEXT NOT NULL DEFAULT '',
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
