"""The schema-driven fuzzer (Schemathesis) against the app's own /openapi.json: for every API
operation, a bounded number of generated requests — valid and invalid, with a write token of the
owner, on a workspace holding the demo business — and none may answer with a server error, a
body outside its documented schema, or a content type other than the documented one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from soloist.app import create_app
from soloist.config import load_settings
from soloist.demo.business import build_demo
from soloist.domain.users import create_token
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database
from tests.mailserver import SmtpServer

pytestmark = pytest.mark.slow
EXAMPLES = 25  # per operation: about 1,600 requests in all, under a minute
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """Every part set up (a loopback SMTP server, the webhooks' secrets), so that no operation
    answers 503 for want of a setting and the fuzzer reaches the code behind it."""
    folder = tmp_path_factory.mktemp("fuzz")
    mail = SmtpServer().__enter__()
    environ = {
        **mail.environ,
        "SOLOIST_MASTER_KEY": generate_master_key(),
        "SOLOIST_STRIPE_WEBHOOK_SECRET": "whsec_fuzz",
        "SOLOIST_SHOPIFY_WEBHOOK_SECRET": "shopify-fuzz",
        "SOLOIST_WOOCOMMERCE_WEBHOOK_SECRET": "woo-fuzz",
    }
    database = Database(load_settings(workspace=folder, environ=environ))
    upgrade_database(database.engine)
    with database.session() as session:
        build_demo(session, customers=40, seed=2, end_date=dt.date(2026, 6, 30),
                   owner_password="fuzz-password-123")  # fmt: skip
        _, token = create_token(session, "owner@example.com", "write", "test")
    app = create_app(database.settings, database)
    yield app, token
    database.dispose()
    mail.__exit__()


def test_no_operation_answers_a_server_error_or_outside_its_schema(
    fuzzed: tuple[Any, str],
) -> None:
    app, token = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/api/")
    headers = {"Authorization": f"Bearer {token}"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,  # the same requests on every run: a failure is reproducible
            database=None,
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except (Exception, ExceptionGroup) as exc:  # one operation's failure; try the others
            failures[operation.label] = str(exc)[:1500]
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
