"""/openapi.json describes every answer of the API, and the answers follow their schemas."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from soloist.api.loyalty.members import LoyaltyPublic
from soloist.api.loyalty.report import EffectPublic, LoyaltyKpisPublic, LoyaltyReportPublic
from soloist.api.scores import ReasonPublic
from soloist.api.status import StatusPublic
from soloist.app import create_app
from soloist.domain.loyalty.report import Effect, LoyaltyKpis, LoyaltyReport
from soloist.domain.loyalty.summary import LoyaltySummary
from soloist.domain.scoring.reasons import Reason
from soloist.domain.status import workspace_status
from soloist.storage.database import Database


@pytest.fixture
def sqlite_client(sqlite_database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_database.settings, sqlite_database)) as test_client:
        yield test_client


def _fields_of(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The properties a response schema names (through ``$ref`` and list items)."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if schema.get("type") == "array":
        return _fields_of(schema["items"], components)
    properties: dict[str, Any] = schema.get("properties", {})
    return properties


def _api_routes(client: TestClient) -> list[tuple[str, APIRoute]]:
    """(path, route) of every API route, through the routers the app includes."""
    found = []
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route, path = context.original_route, context.path
        if isinstance(route, APIRoute) and path and path.startswith("/api/v1"):
            found.append((path, route))
    return found


def _undescribed(client: TestClient) -> list[str]:
    """Every ``METHOD /path`` under /api/v1 without a docstring or a schema naming its fields."""
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    problems = []
    for path, route in _api_routes(client):
        for method in sorted(route.methods or ()):
            where = f"{method} {path}"
            operation = document["paths"][path][method.lower()]
            answer = operation["responses"].get(str(route.status_code or 200), {})
            content = answer.get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            # a download (a zip) says its media type and that it is bytes instead
            download = any(
                kind != "application/json" and body.get("schema", {}).get("format") == "binary"
                for kind, body in content.items()
            )
            if download:
                pass
            elif route.response_model is None or not _fields_of(schema, components):
                problems.append(f"{where}: its answer has no schema naming its fields")
            if not route.description or not operation.get("summary"):
                problems.append(f"{where}: no docstring")
    return problems


def test_every_route_declares_its_response_schema(sqlite_client: TestClient) -> None:
    assert len(_api_routes(sqlite_client)) >= 25
    assert _undescribed(sqlite_client) == []


def test_the_check_finds_a_route_that_answers_a_bare_mapping(sqlite_client: TestClient) -> None:
    app: Any = sqlite_client.app

    @app.get("/api/v1/untyped")
    def untyped() -> dict[str, Any]:
        return {}

    app.openapi_schema = None
    assert _undescribed(sqlite_client) == [
        "GET /api/v1/untyped: its answer has no schema naming its fields",
        "GET /api/v1/untyped: no docstring",
    ]


def test_conflicts_are_described_with_the_error_shape(sqlite_client: TestClient) -> None:
    paths = sqlite_client.get("/openapi.json").json()["paths"]
    redemption = paths["/api/v1/customers/{customer_id}/loyalty/redemptions"]["post"]
    conflict = redemption["responses"]["409"]["content"]["application/json"]["schema"]
    assert conflict == {"$ref": "#/components/schemas/ErrorPublic"}


def _names(cls: type) -> set[str]:
    return {field.name for field in dataclasses.fields(cls)}


@pytest.mark.parametrize(
    ("public", "result"),
    [
        (LoyaltyPublic, LoyaltySummary),
        (LoyaltyReportPublic, LoyaltyReport),
        (LoyaltyKpisPublic, LoyaltyKpis),
        (EffectPublic, Effect),
        (ReasonPublic, Reason),
    ],
)
def test_public_schemas_carry_every_field_of_their_domain_result(public: Any, result: type) -> None:
    assert set(public.model_fields) == _names(result)


def test_the_status_schema_names_every_figure_of_the_status(sqlite_database: Database) -> None:
    with sqlite_database.read_session() as session:
        figures = workspace_status(session, "USD")
    # and what the server itself is working out, which only a server knows
    assert set(StatusPublic.model_fields) == set(figures) | {"computing"}
