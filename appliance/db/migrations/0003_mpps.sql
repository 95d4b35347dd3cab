-- Modality Performed Procedure Steps received as MPPS SCP: the step, its history, the
-- worklist items it follows, and the instances its Performed Series Sequence references.
CREATE TABLE mpps (
    sop_instance_uid  TEXT PRIMARY KEY,
    state             TEXT NOT NULL CHECK (state IN ('IN PROGRESS', 'COMPLETED', 'DISCONTINUED')),
    calling_ae        TEXT NOT NULL,
    called_ae         TEXT NOT NULL,
    study_uid         TEXT NOT NULL DEFAULT '',   -- first Scheduled Step Attributes item
    accession_number  TEXT NOT NULL DEFAULT '',
    patient_id        TEXT NOT NULL DEFAULT '',
    patient_name      TEXT NOT NULL DEFAULT '',
    modality          TEXT NOT NULL DEFAULT '',
    pps_id            TEXT NOT NULL DEFAULT '',
    started           TEXT NOT NULL DEFAULT '',   -- PPS Start Date and Time, as sent
    ended             TEXT NOT NULL DEFAULT '',   -- PPS End Date and Time, as sent
    -- The current attribute set (N-CREATE with every N-SET applied), Explicit VR LE.
    attributes        BLOB NOT NULL,
    -- Study completion by MPPS: '' not asked, 'waiting' for referenced instances, 'done'.
    completion        TEXT NOT NULL DEFAULT '' CHECK (completion IN ('', 'waiting', 'done')),
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL
);
CREATE INDEX mpps_state ON mpps (state);
CREATE INDEX mpps_study ON mpps (study_uid);
CREATE INDEX mpps_waiting ON mpps (completion) WHERE completion = 'waiting';

-- Every accepted N-CREATE and N-SET, with its dataset exactly as received.
CREATE TABLE mpps_events (
    id                INTEGER PRIMARY KEY,
    sop_instance_uid  TEXT NOT NULL REFERENCES mpps (sop_instance_uid),
    operation         TEXT NOT NULL CHECK (operation IN ('N-CREATE', 'N-SET')),
    state             TEXT NOT NULL,              -- the step's state after the operation
    calling_ae        TEXT NOT NULL,
    at                REAL NOT NULL,
    transfer_syntax   TEXT NOT NULL,
    dataset           BLOB NOT NULL
);
CREATE INDEX mpps_events_step ON mpps_events (sop_instance_uid, id);

-- The worklist items (Scheduled Procedure Steps) whose status follows the step.
CREATE TABLE mpps_worklist (
    sop_instance_uid  TEXT NOT NULL REFERENCES mpps (sop_instance_uid),
    item_id           INTEGER NOT NULL,
    PRIMARY KEY (sop_instance_uid, item_id)
) WITHOUT ROWID;

-- Referenced Image and Non-Image Composite SOP Instances of the Performed Series Sequence.
-- An N-SET that carries the sequence replaces the whole set (PS3.4 F.7.2.2).
CREATE TABLE mpps_instances (
    sop_instance_uid  TEXT NOT NULL REFERENCES mpps (sop_instance_uid),
    referenced_uid    TEXT NOT NULL,
    sop_class_uid     TEXT NOT NULL DEFAULT '',
    series_uid        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (sop_instance_uid, referenced_uid)
) WITHOUT ROWID;
