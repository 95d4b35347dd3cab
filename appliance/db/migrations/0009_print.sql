-- Print jobs: one row per N-ACTION the Print SCP answered Success. The films themselves
-- are a folder under <data>/print/ (appliance/printing/film.py), written and synced
-- before the row; the devices role prints them. Nothing answered Success is lost.
CREATE TABLE print_jobs (
    id            INTEGER PRIMARY KEY,
    job_uid       TEXT NOT NULL UNIQUE,        -- Print Job SOP Instance UID given to the SCU
    output        TEXT NOT NULL,               -- the [print.outputs] name
    state         TEXT NOT NULL,               -- queued, printing, done, failed, cancelled
    calling_ae    TEXT NOT NULL,
    called_ae     TEXT NOT NULL,
    films         INTEGER NOT NULL,
    images        INTEGER NOT NULL,
    copies        INTEGER NOT NULL,
    priority      TEXT NOT NULL,               -- HIGH, MED, LOW
    medium        TEXT NOT NULL,
    film_size     TEXT NOT NULL,
    label         TEXT NOT NULL DEFAULT '',    -- Film Session Label
    folder        TEXT NOT NULL,               -- relative to the data directory
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  REAL NOT NULL DEFAULT 0,
    status_info   TEXT NOT NULL DEFAULT 'QUEUED',  -- Execution Status Info for Print Job N-GET
    message       TEXT NOT NULL DEFAULT '',    -- the operator's sentence
    external_id   TEXT NOT NULL DEFAULT '',    -- the CUPS job id or the film printer's job
    scale         REAL,                        -- paper: the scale the film was printed at
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    finished_at   REAL
);
CREATE INDEX print_jobs_waiting ON print_jobs (output, state, next_attempt);
CREATE INDEX print_jobs_created ON print_jobs (created_at);

CREATE TABLE print_job_events (
    id       INTEGER PRIMARY KEY,
    job_id   INTEGER NOT NULL REFERENCES print_jobs (id),
    at       REAL NOT NULL,
    state    TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX print_job_events_job ON print_job_events (job_id, at);

-- The outputs' live state, written by the devices role each poll and read by the Print
-- SCP for Printer N-GET, the status page and the CLI.
CREATE TABLE printer_status (
    output       TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,                -- paper or film
    status       TEXT NOT NULL,                -- NORMAL, WARNING, FAILURE
    status_info  TEXT NOT NULL,                -- the Printer Status Info defined term
    state        TEXT NOT NULL,                -- the device state machine's state
    message      TEXT NOT NULL DEFAULT '',     -- the operator's sentence
    printer_name TEXT NOT NULL DEFAULT '',
    model        TEXT NOT NULL DEFAULT '',
    updated_at   REAL NOT NULL
);
