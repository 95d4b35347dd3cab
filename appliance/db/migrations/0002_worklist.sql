-- Modality Worklist items: one row per Scheduled Procedure Step. The item itself is JSON
-- (DICOM keywords); the columns copy the keys queries filter on, so SQLite narrows the
-- candidates before the exact PS3.4 matching runs in Python.
CREATE TABLE worklist_items (
    id                     INTEGER PRIMARY KEY,
    item_key               TEXT NOT NULL UNIQUE,
    source                 TEXT NOT NULL,
    status                 TEXT NOT NULL,
    patient_id             TEXT NOT NULL DEFAULT '',
    patient_name           TEXT NOT NULL DEFAULT '',  -- upper case: names match case-insensitively
    accession_number       TEXT NOT NULL DEFAULT '',
    requested_procedure_id TEXT NOT NULL DEFAULT '',
    study_uid              TEXT NOT NULL,
    sps_id                 TEXT NOT NULL DEFAULT '',
    modality               TEXT NOT NULL DEFAULT '',
    sps_start_date         TEXT NOT NULL DEFAULT '',
    sps_start_time         TEXT NOT NULL DEFAULT '',
    item                   TEXT NOT NULL,
    created_at             REAL NOT NULL,
    updated_at             REAL NOT NULL
);
CREATE INDEX worklist_date ON worklist_items (sps_start_date, modality);
CREATE INDEX worklist_patient_id ON worklist_items (patient_id);
CREATE INDEX worklist_patient_name ON worklist_items (patient_name);
CREATE INDEX worklist_accession ON worklist_items (accession_number);
CREATE INDEX worklist_study ON worklist_items (study_uid);
CREATE INDEX worklist_requested_procedure ON worklist_items (requested_procedure_id);
CREATE INDEX worklist_source ON worklist_items (source);
