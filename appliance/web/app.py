"""FastAPI application: /api/status and friends. Errors become HTTP errors here, once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from fastapi import Depends, FastAPI, HTTPException

from appliance import __version__
from appliance.config.schema import KilnConfig
from appliance.db.database import connect
from appliance.status import collect
from appliance.storage.queries import StudyQueries
from appliance.storage.uids import InvalidUID, check_uid
from appliance.web.worklist_api import worklist_router


def create_app(config: KilnConfig) -> FastAPI:
    app = FastAPI(title="Kiln", version=__version__)

    def db() -> Iterator[sqlite3.Connection]:
        conn = connect(config.box.data_dir)
        try:
            yield conn
        finally:
            conn.close()

    @app.get("/api/status")
    def status(conn: sqlite3.Connection = Depends(db)) -> dict[str, Any]:  # noqa: B008
        return collect(conn, config)

    @app.get("/api/studies")
    def studies(limit: int = 100, conn: sqlite3.Connection = Depends(db)) -> list[dict[str, Any]]:  # noqa: B008
        return StudyQueries(conn).list(min(max(limit, 1), 1000))

    @app.get("/api/studies/{study_uid}")
    def study(study_uid: str, conn: sqlite3.Connection = Depends(db)) -> dict[str, Any]:  # noqa: B008
        try:
            uid = check_uid(study_uid, "Study Instance UID")
        except InvalidUID as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        found = StudyQueries(conn).show(uid)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no study {uid} on this box")
        return found

    app.include_router(worklist_router(config, db))
    return app
