-- Disc publishing: jobs, the discs each job makes (one row per attempt), the job event
-- history (append-only) and which completed-study events the rules have seen.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    profile     TEXT NOT NULL,             -- the profile's name, for people
    settings    TEXT NOT NULL,             -- the profile as it was when the job was made (JSON)
    priority    INTEGER NOT NULL,          -- higher first
    origin      TEXT NOT NULL CHECK (origin IN ('rule', 'operator')),
    state       TEXT NOT NULL CHECK (state IN ('queued', 'preparing', 'publishing',
                    'waiting-operator', 'parked', 'done', 'failed', 'cancelled')),
    message     TEXT NOT NULL DEFAULT '',  -- the operator's sentence while one is needed
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX jobs_state ON jobs (state, priority, created_at);

CREATE TABLE job_studies (
    job_id    INTEGER NOT NULL REFERENCES jobs (id),
    position  INTEGER NOT NULL,
    study_uid TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
) WITHOUT ROWID;
CREATE INDEX job_studies_study ON job_studies (study_uid);

-- One row per disc attempt: a redo or a retry after a station fault is a new row for the
-- same slot (volume x copy type x copy), so each DiscOrder.disc_id is used once.
CREATE TABLE job_discs (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs (id),
    slot        INTEGER NOT NULL,
    volume      INTEGER NOT NULL,
    volumes     INTEGER NOT NULL,
    copy_type   TEXT NOT NULL,
    copy_number INTEGER NOT NULL,
    medium      TEXT NOT NULL,
    profile     TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    redos       INTEGER NOT NULL,          -- bad discs before this one since the last retry
    state       TEXT NOT NULL CHECK (state IN ('pending', 'image-ready', 'in-progress',
                    'done', 'rejected', 'interrupted', 'failed', 'cancelled')),
    image       TEXT NOT NULL DEFAULT '',
    image_bytes INTEGER NOT NULL DEFAULT 0,
    label       TEXT NOT NULL DEFAULT '{}',
    artwork     TEXT NOT NULL DEFAULT '',
    station     TEXT NOT NULL DEFAULT '',
    step        TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX job_discs_job ON job_discs (job_id, slot, id);
CREATE INDEX job_discs_state ON job_discs (state);

CREATE TABLE job_events (
    id      INTEGER PRIMARY KEY,
    at      REAL NOT NULL,
    job_id  INTEGER NOT NULL,
    disc_id INTEGER,
    event   TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX job_events_job ON job_events (job_id, id);

-- Each 'complete' study event the rules have looked at, and what came of it.
CREATE TABLE publishing_evaluations (
    study_event_id INTEGER PRIMARY KEY,
    study_uid      TEXT NOT NULL,
    at             REAL NOT NULL,
    outcome        TEXT NOT NULL,
    job_id         INTEGER
);
-- Studies completed before publishing existed never get a disc by surprise.
INSERT INTO publishing_evaluations (study_event_id, study_uid, at, outcome)
    SELECT id, study_uid, at, 'before-publishing' FROM study_events WHERE event = 'complete';
