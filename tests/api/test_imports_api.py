"""POST /api/v1/imports and /api/v1/imports/preview on every engine."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import bearer

CSV = (
    b"order_id,email,name,date,total,currency\n"
    b"A-1,ann@example.com,Ann,2026-01-05,12.50,USD\n"
    b"A-2,ben@example.com,Ben,2026-01-06,8.00,USD\n"
)
BAD_CSV = CSV + b"A-3,bad,Cy,notadate,abc,USD\n"


def post(client: TestClient, token: str, data: bytes, **form: str) -> dict:
    response = client.post(
        "/api/v1/imports",
        data={"kind": "orders", **form},
        files={"file": ("orders.csv", data, "text/csv")},
        headers=bearer(token),
    )
    return {**response.json(), "http": response.status_code}


def test_preview_shows_format_and_mapping_and_writes_nothing(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/imports/preview",
        data={"kind": "orders"},
        files={"file": ("orders.csv", CSV, "text/csv")},
        headers=bearer(tokens["read"]),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["format"] == "generic"
    assert body["mapping"]["order_id"] == "order_id"
    assert body["rows"] == 2
    orders = client.get("/api/v1/orders", headers=bearer(tokens["read"])).json()
    assert orders["total"] == 0


def test_import_then_the_same_file_again_changes_nothing(
    client: TestClient, tokens: dict[str, str]
) -> None:
    first = post(client, tokens["write"], CSV)
    assert first["http"] == 201
    assert (first["rows_read"], first["imported"], first["invalid"]) == (2, 2, 0)
    again = post(client, tokens["write"], CSV)
    assert again["imported"] == 0
    orders = client.get("/api/v1/orders", headers=bearer(tokens["read"])).json()
    assert orders["total"] == 2


def test_a_file_with_invalid_rows_is_refused_whole(
    client: TestClient, tokens: dict[str, str]
) -> None:
    refused = post(client, tokens["write"], BAD_CSV)
    assert refused["http"] == 422
    assert refused["error"]["code"] == "import_refused"
    assert refused["error"]["details"]["invalid"] == 1
    assert {e["row"] for e in refused["error"]["details"]["errors"]} == {4}
    assert client.get("/api/v1/orders", headers=bearer(tokens["read"])).json()["total"] == 0
    skipped = post(client, tokens["write"], BAD_CSV, skip_invalid="true")
    assert skipped["imported"] == 2


def test_importing_needs_write_access(client: TestClient, tokens: dict[str, str]) -> None:
    assert post(client, tokens["read"], CSV)["http"] == 403
    assert post(client, tokens["viewer"], CSV)["http"] == 403


def test_the_first_orders_through_the_api_set_the_workspace_currency(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """As `soloist import` and the wizard do: an empty USD workspace takes the file's GBP."""
    imported = post(client, tokens["write"], CSV.replace(b"USD", b"GBP"))
    assert imported["http"] == 201
    assert any("The workspace currency is now GBP" in note for note in imported["notes"])
    status = client.get("/api/v1/status", headers=bearer(tokens["read"])).json()
    assert status["currency"] == "GBP"
    assert status["revenue"] == "20.50"
