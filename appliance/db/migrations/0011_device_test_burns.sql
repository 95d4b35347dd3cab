-- Test burns asked of the running devices role (appliance device test-burn NAME while the
-- box runs): the same requests as the device tests of 0010, of another kind. The role
-- borrows one of the station's runtime stations from its job runner between discs, makes
-- the test disc on it and records the outcome as one check; `step` and `fraction` show the
-- disc's progress meanwhile ('waiting' while a patient disc is finished first). A request
-- the CLI stopped waiting for while it was queued or waiting is expired and never burned.
-- kind: test (0010's self-tests and lamp tests) or test-burn
ALTER TABLE device_tests ADD COLUMN kind TEXT NOT NULL DEFAULT 'test';
-- the runtime station lent to the test burn (robot1-d0...), '' before one is
ALTER TABLE device_tests ADD COLUMN station TEXT NOT NULL DEFAULT '';
-- '', waiting, then the disc's steps: picking, burning, verifying, printing, unloading
ALTER TABLE device_tests ADD COLUMN step TEXT NOT NULL DEFAULT '';
ALTER TABLE device_tests ADD COLUMN fraction REAL NOT NULL DEFAULT 0;
DROP INDEX device_tests_state;
CREATE INDEX device_tests_kind_state ON device_tests (kind, state, id);
