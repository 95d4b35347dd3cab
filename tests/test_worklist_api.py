"""The worklist REST API, through FastAPI's test client on a migrated database."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from appliance.config.schema import KilnConfig
from appliance.db.database import migrate
from appliance.web.app import create_app

ITEM = {
    "key": "ORDER-1",
    "PatientID": "P1",
    "PatientName": "DOE^JANE",
    "ScheduledProcedureStepSequence": [
        {"Modality": "CT", "ScheduledProcedureStepStartDate": "20261202"}
    ],
}
AUTH = {"Authorization": "Bearer s3cret"}


def _client(tmp_path: Path, token: str = "s3cret") -> TestClient:
    config = KilnConfig.model_validate({"box": {"data_dir": tmp_path}, "web": {"api_token": token}})
    migrate(tmp_path)
    return TestClient(create_app(config))


def test_add_list_show_replace_remove(tmp_path: Path) -> None:
    client = _client(tmp_path)
    assert client.post("/api/worklist", json=ITEM, headers=AUTH).json() == {"stored": 1}
    [summary] = client.get("/api/worklist").json()
    assert summary["key"] == "ORDER-1" and summary["modality"] == "CT"
    replaced = {**ITEM, "PatientName": "DOE^JANET"}
    client.post("/api/worklist", json=[replaced], headers=AUTH)
    shown = client.get("/api/worklist/ORDER-1").json()
    assert shown["item"]["PatientName"] == "DOE^JANET"
    assert len(client.get("/api/worklist").json()) == 1
    assert client.delete("/api/worklist/ORDER-1", headers=AUTH).status_code == 200
    assert client.get("/api/worklist/ORDER-1").status_code == 404


@pytest.mark.parametrize(
    ("token", "headers", "status"),
    [
        ("", AUTH, 403),  # writes are off until a token is configured
        ("s3cret", {}, 401),
        ("s3cret", {"Authorization": "Bearer wrong"}, 401),
    ],
)
def test_writes_need_the_token(
    tmp_path: Path, token: str, headers: dict[str, str], status: int
) -> None:
    client = _client(tmp_path, token)
    assert client.post("/api/worklist", json=ITEM, headers=headers).status_code == status
    assert client.get("/api/worklist").json() == []


def test_a_bad_item_stores_nothing(tmp_path: Path) -> None:
    client = _client(tmp_path)
    bad = {**ITEM, "key": "ORDER-2", "PatientBirthDate": "yesterday"}
    response = client.post("/api/worklist", json=[ITEM, bad], headers=AUTH)
    assert response.status_code == 422
    assert "item 2: PatientBirthDate" in response.json()["detail"]
    assert client.get("/api/worklist").json() == []
