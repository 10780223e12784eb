"""POST /api/v1/imports with ``as_of``: a subscription snapshot dated back from its day."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import bearer

SNAPSHOT = (
    b"customerID,gender,tenure,Contract,MonthlyCharges,TotalCharges,Churn\n"
    b"0001-A,Female,1,Month-to-month,29.85,29.85,No\n"
    b"0002-B,Male,13,One year,56.95,740.35,Yes\n"
)


def post(client: TestClient, token: str, **form: str) -> dict:
    response = client.post(
        "/api/v1/imports",
        data={"kind": "subscriptions", **form},
        files={"file": ("telco.csv", SNAPSHOT, "text/csv")},
        headers=bearer(token),
    )
    return {**response.json(), "http": response.status_code}


def test_a_snapshot_is_read_as_of_the_day_given(client: TestClient, tokens: dict[str, str]) -> None:
    first = post(client, tokens["write"], as_of="2024-03-31")
    assert first["http"] == 201
    assert (first["format"], first["imported"], first["invalid"]) == (
        "subscription-snapshot",
        2,
        0,
    )
    assert any("as of 2024-03-31 (the day given)" in note for note in first["notes"])
    again = post(client, tokens["write"], as_of="2024-03-31")
    assert (again["imported"], again["unchanged"]) == (0, 2)
    later = post(client, tokens["write"], as_of="2099-01-01")
    assert later["http"] == 422
    assert "after today" in later["error"]["message"]
