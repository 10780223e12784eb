"""Two-step sign-in: set up with a real TOTP code, asked after the password, good once, throttled
like passwords, turned off with a code or from the command line."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
from fastapi.testclient import TestClient

from soloist.domain.two_step import reset_two_step
from soloist.domain.users import get_user_by_email
from soloist.storage.database import Database
from tests.web.conftest import PASSWORD, csrf_of, sign_in


def _now_code(secret: str, offset_steps: int = 0) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30 * offset_steps)
    return pyotp.TOTP(secret).at(moment)


def _set_up(web: TestClient) -> str:
    csrf = sign_in(web)
    started = web.post("/settings/two-step/start", data={"csrf_token": csrf})
    assert started.status_code == 200
    assert "<svg" in started.text  # the QR code, inline
    secret = re.search(r'id="two-step-key">([A-Z2-7]+)<', started.text).group(1)  # type: ignore[union-attr]
    wrong = web.post("/settings/two-step/confirm", data={"code": "000000", "csrf_token": csrf})
    assert wrong.status_code == 422
    done = web.post(
        "/settings/two-step/confirm", data={"code": _now_code(secret), "csrf_token": csrf}
    )
    assert done.status_code == 200
    assert "Two-step sign-in is on" in done.text
    return secret


def _password(web: TestClient, email: str = "owner@example.com") -> str:
    """Sign out, then give the password; the code page's CSRF token."""
    web.cookies.clear()
    token = csrf_of(web.get("/login").text)
    answer = web.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/tasks"}
    )
    assert answer.url.path == "/login/code"
    return csrf_of(answer.text)


def test_a_code_is_asked_after_the_password_and_works_once(
    web: TestClient, sqlite_database: Database
) -> None:
    secret = _set_up(web)
    csrf = _password(web)
    assert web.get("/customers").url.path == "/login"  # not signed in between the two steps
    # The set-up used this step's code: a code of the next step (a phone a little fast) works.
    code = _now_code(secret, 1)
    bad = web.post("/login/code", data={"code": "12345x", "csrf_token": csrf})
    assert bad.status_code == 401
    good = web.post("/login/code", data={"code": code, "csrf_token": csrf})
    assert good.status_code == 200
    assert good.url.path == "/tasks"  # where the sign-in was going
    assert web.get("/customers").status_code == 200

    csrf = _password(web)
    replay = web.post("/login/code", data={"code": code, "csrf_token": csrf})
    assert replay.status_code == 401  # a code is good once
    with sqlite_database.read_session() as session:
        from sqlalchemy import select

        from soloist.storage.models import AuditEntry

        reasons = [
            e.changes.get("reason")
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "user.sign_in_failed")
            )
        ]
    assert reasons.count("wrong_code") == 2


def test_codes_are_throttled_like_passwords(web: TestClient) -> None:
    _set_up(web)
    csrf = _password(web)
    answers = [
        web.post("/login/code", data={"code": "000000", "csrf_token": csrf}).status_code
        for _ in range(11)
    ]
    assert answers[:10] == [401] * 10
    assert answers[10] == 429


def test_turning_it_off_takes_a_code_and_the_cli_can_reset_it(
    web: TestClient, sqlite_database: Database
) -> None:
    secret = _set_up(web)
    csrf = csrf_of(web.get("/settings/two-step").text)
    refused = web.post("/settings/two-step/disable", data={"code": "000000", "csrf_token": csrf})
    assert refused.status_code == 422
    off = web.post(
        "/settings/two-step/disable", data={"code": _now_code(secret, 1), "csrf_token": csrf}
    )
    assert "Two-step sign-in is off" in off.text
    _set_up(web)
    with sqlite_database.session() as session:
        reset_two_step(session, get_user_by_email(session, "owner@example.com").id, "cli:test")
    assert web.get("/customers").url.path == "/login"  # the reset ended the sessions
    sign_in(web)  # the password alone again


def test_only_the_codes_of_the_steps_around_now_are_accepted(sqlite_database: Database) -> None:
    import pytest

    from soloist.domain.two_step import begin_two_step, confirm_two_step, verify_second_step
    from soloist.domain.users import add_user
    from soloist.errors import AuthenticationError

    start = dt.datetime(2026, 12, 6, 9, 0, 0, tzinfo=dt.UTC)
    with sqlite_database.session() as session:
        user = add_user(session, "ana@example.com", "staff", PASSWORD, "t")
        setup = begin_two_step(session, user.id)
        assert setup.uri.startswith("otpauth://totp/Soloist:ana%40example.com?secret=")
        confirm_two_step(session, user.id, pyotp.TOTP(setup.secret).at(start), "t", start)
        later = start + dt.timedelta(minutes=10)
        totp = pyotp.TOTP(setup.secret)
        for too_far in (-2, 2):
            with pytest.raises(AuthenticationError):
                verify_second_step(
                    session, user, totp.at(later + dt.timedelta(seconds=30 * too_far)), later
                )
        verify_second_step(session, user, totp.at(later - dt.timedelta(seconds=30)), later)
        with pytest.raises(AuthenticationError):  # the same code again
            verify_second_step(session, user, totp.at(later - dt.timedelta(seconds=30)), later)
        verify_second_step(session, user, totp.at(later), later)  # a newer one is fine
