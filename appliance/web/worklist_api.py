"""/api/worklist: list, show, add or replace, and remove worklist items.

Writes need `Authorization: Bearer <[web] api_token>`; with no token configured every
write is refused, so a fresh box never takes orders from an unknown program.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException

from appliance.config.schema import KilnConfig
from appliance.worklist.importer import parse_json
from appliance.worklist.item import ItemError
from appliance.worklist.store import WorklistStore


def worklist_router(
    config: KilnConfig, db: Callable[[], Iterator[sqlite3.Connection]]
) -> APIRouter:
    router = APIRouter(prefix="/api/worklist")
    token = config.web.api_token.get_secret_value()

    def writer(authorization: str = Header("")) -> None:
        if not token:
            raise HTTPException(403, "API writes are off: set [web] api_token to allow them")
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
            raise HTTPException(401, "a valid 'Authorization: Bearer <token>' is required")

    @router.get("")
    def items(
        date: str = "",
        include_finished: bool = False,
        limit: int = 200,
        conn: sqlite3.Connection = Depends(db),  # noqa: B008
    ) -> list[dict[str, Any]]:
        store = WorklistStore(conn)
        found = store.list(
            include_finished=include_finished, date=date, limit=min(max(limit, 1), 10000)
        )
        return [s.summary() for s in found]

    @router.get("/{ident}")
    def item(ident: str, conn: sqlite3.Connection = Depends(db)) -> dict[str, Any]:  # noqa: B008
        stored = WorklistStore(conn).get(ident)
        if stored is None:
            raise HTTPException(404, f"no worklist item {ident}")
        return {**stored.summary(), "item": stored.item}

    @router.post("", dependencies=[Depends(writer)], status_code=201)
    def add(
        body: Any = Body(...),  # noqa: B008
        conn: sqlite3.Connection = Depends(db),  # noqa: B008
    ) -> dict[str, Any]:
        """One item or a list; all are stored or none. A `key` replaces an earlier item."""
        try:
            count = WorklistStore(conn).put_many(parse_json(json.dumps(body)), source="rest")
        except ItemError as exc:
            raise HTTPException(422, f"nothing was stored: {exc}") from None
        return {"stored": count}

    @router.delete("/{ident}", dependencies=[Depends(writer)])
    def remove(ident: str, conn: sqlite3.Connection = Depends(db)) -> dict[str, Any]:  # noqa: B008
        if not WorklistStore(conn).remove(ident):
            raise HTTPException(404, f"no worklist item {ident}")
        return {"removed": ident}

    return router
