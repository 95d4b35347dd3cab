-- Alarms: what the operator is told needs attention, one row per occurrence. A row is
-- active until cleared; raising the same (source, key) again while it is active updates
-- that row instead of adding one, so the alarm list does not grow while a fault lasts.
CREATE TABLE alarms (
    id              INTEGER PRIMARY KEY,
    source          TEXT NOT NULL,           -- station, role, outbox, disk, jobs, usb...
    key             TEXT NOT NULL,           -- which one of the source (station name, job id)
    severity        TEXT NOT NULL CHECK (severity IN ('attention', 'error')),
    sentence        TEXT NOT NULL,           -- what happened, what the box did, what to do
    raised_at       REAL NOT NULL,
    updated_at      REAL NOT NULL,
    cleared_at      REAL,
    acknowledged_at REAL,
    acknowledged_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX alarms_active ON alarms (source, key) WHERE cleared_at IS NULL;
CREATE INDEX alarms_raised ON alarms (raised_at);
