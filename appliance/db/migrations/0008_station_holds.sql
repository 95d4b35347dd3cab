-- Stations an operator paused (appliance device pause, or the web page): the job runner
-- gives a paused station no new disc; its disc in progress finishes. Resuming deletes the row.
CREATE TABLE station_holds (
    name      TEXT PRIMARY KEY,               -- the runtime station (robot1-d0, ptburn...)
    paused_by TEXT NOT NULL,                  -- a web user, 'api-token', or the CLI's user
    paused_at REAL NOT NULL,
    reason    TEXT NOT NULL DEFAULT ''
);
