"""POST /api/v1/imports/bundle (several files of one export) and ``map_value``."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import bearer

SHOPIFY = Path(__file__).parents[1] / "data" / "shopify"


def _files(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, (SHOPIFY / name).read_bytes(), "text/csv")) for name in names]


def test_an_export_of_two_files_imports_in_order_and_a_refusal_writes_nothing(
    client: TestClient, tokens: dict[str, str]
) -> None:
    broken = (SHOPIFY / "orders_export.csv").read_bytes().replace(b",36.00,,", b",x,,")
    refused = client.post(
        "/api/v1/imports/bundle",
        files=[
            *_files("customers_export.csv"),
            ("files", ("orders_export.csv", broken, "text/csv")),
        ],
        headers=bearer(tokens["write"]),
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["errors"][0]["file"] == "orders_export.csv"
    customers = client.get("/api/v1/customers", headers=bearer(tokens["read"])).json()
    assert customers["total"] == 0
    response = client.post(
        "/api/v1/imports/bundle",
        files=_files("orders_export.csv", "customers_export.csv"),
        headers=bearer(tokens["write"]),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [(one["kind"], one["imported"]) for one in body["imports"]] == [
        ("customers", 4),
        ("orders", 4),
    ]
    assert (body["rows_read"], body["imported"]) == (9, 8)


def test_a_word_of_the_file_is_mapped_with_map_value(
    client: TestClient, tokens: dict[str, str]
) -> None:
    data = b"order_id,email,date,total,status\nB-1,ann@example.com,2026-01-05,12.50,invoiced\n"
    response = client.post(
        "/api/v1/imports",
        data={"kind": "orders", "map_value": ["status:invoiced=paid"]},
        files={"file": ("orders.csv", data, "text/csv")},
        headers=bearer(tokens["write"]),
    )
    assert response.status_code == 201, response.text
    assert response.json()["notes"][0] == "status: 'invoiced' read as 'paid' (1 rows)"
