-- Received instances, their studies and series, associations, study events,
-- the outbound message outbox and role heartbeats.
CREATE TABLE associations (
    id            INTEGER PRIMARY KEY,
    calling_ae    TEXT NOT NULL,
    called_ae     TEXT NOT NULL,
    peer_host     TEXT NOT NULL,
    peer_port     INTEGER NOT NULL,
    pid           INTEGER NOT NULL,
    opened_at     REAL NOT NULL,
    closed_at     REAL,
    state         TEXT NOT NULL CHECK (state IN ('open', 'released', 'aborted'))
);
CREATE INDEX associations_open ON associations (state) WHERE state = 'open';

CREATE TABLE studies (
    study_uid          TEXT PRIMARY KEY,
    patient_id         TEXT NOT NULL DEFAULT '',
    patient_name       TEXT NOT NULL DEFAULT '',
    patient_birth_date TEXT NOT NULL DEFAULT '',
    patient_sex        TEXT NOT NULL DEFAULT '',
    study_date         TEXT NOT NULL DEFAULT '',
    study_time         TEXT NOT NULL DEFAULT '',
    accession_number   TEXT NOT NULL DEFAULT '',
    study_id           TEXT NOT NULL DEFAULT '',
    study_description  TEXT NOT NULL DEFAULT '',
    referring_physician TEXT NOT NULL DEFAULT '',
    institution_name   TEXT NOT NULL DEFAULT '',
    character_set      TEXT NOT NULL DEFAULT '',
    first_received     REAL NOT NULL,
    last_received      REAL NOT NULL,
    state              TEXT NOT NULL DEFAULT 'receiving' CHECK (state IN ('receiving', 'complete')),
    completed_at       REAL
);
-- On state only: last_received changes with every instance and must not churn an index.
CREATE INDEX studies_state ON studies (state);
CREATE INDEX studies_patient ON studies (patient_id);

CREATE TABLE series (
    series_uid         TEXT PRIMARY KEY,
    study_uid          TEXT NOT NULL REFERENCES studies (study_uid),
    modality           TEXT NOT NULL DEFAULT '',
    series_number      TEXT NOT NULL DEFAULT '',
    series_description TEXT NOT NULL DEFAULT '',
    body_part          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX series_study ON series (study_uid);

CREATE TABLE instances (
    id               INTEGER PRIMARY KEY,
    sop_instance_uid TEXT NOT NULL,
    sop_class_uid    TEXT NOT NULL,
    series_uid       TEXT NOT NULL REFERENCES series (series_uid),
    study_uid        TEXT NOT NULL REFERENCES studies (study_uid),
    instance_number  TEXT NOT NULL DEFAULT '',
    transfer_syntax  TEXT NOT NULL,
    path             TEXT NOT NULL UNIQUE,
    size             INTEGER NOT NULL,
    crc32            INTEGER NOT NULL,
    calling_ae       TEXT NOT NULL,
    called_ae        TEXT NOT NULL,
    association_id   INTEGER REFERENCES associations (id),
    received_at      REAL NOT NULL
);
CREATE INDEX instances_sop ON instances (sop_instance_uid);
CREATE INDEX instances_series ON instances (series_uid);
CREATE INDEX instances_study ON instances (study_uid);

-- Which associations sent to which study: a study is not complete while one is open.
CREATE TABLE association_studies (
    association_id INTEGER NOT NULL REFERENCES associations (id),
    study_uid      TEXT NOT NULL,
    PRIMARY KEY (association_id, study_uid)
) WITHOUT ROWID;

CREATE TABLE study_events (
    id        INTEGER PRIMARY KEY,
    study_uid TEXT NOT NULL,
    event     TEXT NOT NULL,
    at        REAL NOT NULL,
    detail    TEXT NOT NULL DEFAULT '{}',
    consumed  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX study_events_pending ON study_events (consumed, id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    destination     TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    claimed_by      INTEGER,
    created_at      REAL NOT NULL,
    sent_at         REAL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE role_heartbeats (
    role       TEXT PRIMARY KEY,
    pid        INTEGER NOT NULL,
    started_at REAL NOT NULL,
    last_seen  REAL NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
);
