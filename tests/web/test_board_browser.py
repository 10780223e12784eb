"""The pipeline board in a real headless Chromium against a real `soloist serve` on 127.0.0.1:
dragging a card moves the deal (the database says so), the won and lost columns ask the reason
in a dialog, a refused move puts the card back and says why, and the "Move to" form does the same
from the keyboard.

As in test_browser.py: Debian's chromium (/usr/bin/chromium) driven by Playwright; without it
the tests are skipped, unless SOLOIST_TEST_REQUIRE_BROWSER=1, where a missing browser fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from soloist.config import load_settings
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.sales import create_deal, delete_deal, get_deal
from soloist.domain.users import add_user
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database

CHROMIUM = Path(os.environ.get("SOLOIST_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
]
PASSWORD = "board-test-password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
pytestmark = pytest.mark.slow


def unavailable(reason: str) -> None:
    if os.environ.get("SOLOIST_TEST_REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail(f"{reason} (SOLOIST_TEST_REQUIRE_BROWSER=1: browser tests must run)")
    pytest.skip(f"{reason}: browser tests skipped (apt-get install chromium to run them)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, master_key: str) -> Iterator[Database]:
    """A workspace with its owner and one customer, whose database this test reads and writes
    beside the server."""
    folder = tmp_path_factory.mktemp("board")
    database = Database(load_settings(workspace=folder, environ={"SOLOIST_MASTER_KEY": master_key}))
    upgrade_database(database.engine)
    with database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
        create_customer(session, CustomerCreate(name="Ada Lovelace"), "test")
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def server(workspace: Database, master_key: str) -> Iterator[str]:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing")
    env = {
        **os.environ,
        "SOLOIST_WORKSPACE": str(workspace.settings.workspace),
        "SOLOIST_MASTER_KEY": master_key,
    }
    env.pop("SOLOIST_DATABASE_URL", None)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "soloist",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-worker",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"soloist serve did not start:\n{process.communicate()[1]}")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.communicate(timeout=10)


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """Signed in as the owner; a script error in the page fails the test."""
    context = browser.new_context(
        base_url=server, locale="en-US", viewport={"width": 1400, "height": 900}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/login")
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{server}/")
    yield page
    assert errors == []
    context.close()


def new_deal(database: Database, name: str) -> int:
    with database.session() as session:
        return create_deal(
            session, "test", name=name, customer_id=1, value="1000", currency="USD"
        ).id


def stage_of(database: Database, deal_id: int) -> tuple[str, str | None]:
    with database.read_session() as session:
        deal = get_deal(session, deal_id)
        return deal.stage, deal.close_reason


def open_board(page: Any) -> None:
    page.goto("/deals")
    page.wait_for_function("() => typeof Chart !== 'undefined'")  # the deferred scripts ran


def drag(page: Any, deal_id: int, stage: str) -> None:
    page.drag_and_drop(f"#deal-{deal_id}", f"#column-{stage}")


def wait_refreshed(page: Any, before: str | None) -> None:
    """Until the board was read again after a move (its ``data-refreshed`` changes)."""
    page.wait_for_function(
        "before => { const b = document.getElementById('board');"
        " return b && b.dataset.refreshed && b.dataset.refreshed !== before"
        " && !b.hasAttribute('aria-busy'); }",
        arg=before or "",
    )


def test_dragging_a_card_moves_the_deal(page: Any, workspace: Database) -> None:
    deal_id = new_deal(workspace, "Espresso machines")
    open_board(page)
    assert page.locator(f"#column-lead #deal-{deal_id}").count() == 1
    drag(page, deal_id, "proposal")
    wait_refreshed(page, None)
    assert stage_of(workspace, deal_id) == ("proposal", None)
    assert page.locator(f"#column-proposal #deal-{deal_id}").count() == 1
    # the board read again: the column's sums are the server's (1,000 at 50 %)
    assert page.locator("#weighted-proposal").inner_text() == "weighted $500.00"
    assert page.locator("#forecast-chart").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "pipeline-board.png"), full_page=True)


def test_dropping_on_lost_asks_the_reason_and_cancelling_puts_the_card_back(
    page: Any, workspace: Database
) -> None:
    deal_id = new_deal(workspace, "Grinders")
    open_board(page)
    drag(page, deal_id, "lost")
    dialog = page.locator("#reason-dialog")
    dialog.wait_for(state="visible")
    assert "why did the customer not buy" in dialog.inner_text()
    page.click("#reason-submit")  # no reason: the dialog says it is needed and stays
    assert page.locator("#reason-error").inner_text() == "Say why the deal was lost."
    assert dialog.is_visible()
    page.click("#reason-cancel")
    dialog.wait_for(state="hidden")
    # the card goes back once the dialog has closed: wait for it rather than race the script
    page.locator(f"#column-lead #deal-{deal_id}").wait_for(state="attached", timeout=10_000)
    assert page.locator(f"#column-lead #deal-{deal_id}").count() == 1
    assert stage_of(workspace, deal_id) == ("lead", None)
    drag(page, deal_id, "lost")
    dialog.wait_for(state="visible")
    page.fill("#reason-text", "Went with a cheaper brand")
    page.click("#reason-submit")
    wait_refreshed(page, None)
    assert stage_of(workspace, deal_id) == ("lost", "Went with a cheaper brand")
    assert page.locator(f"#column-lost #deal-{deal_id}").count() == 1


def test_a_refused_move_puts_the_card_back_and_says_why(page: Any, workspace: Database) -> None:
    deal_id = new_deal(workspace, "Gone meanwhile")
    open_board(page)
    with workspace.session() as session:
        delete_deal(session, deal_id, "test")  # deleted in another tab
    drag(page, deal_id, "qualified")
    message = page.locator("#board-message")
    message.wait_for(state="visible")
    assert message.inner_text().startswith("No deal with id")
    assert page.locator(f"#column-lead #deal-{deal_id}").count() == 1


def test_the_move_to_form_works_from_the_keyboard(page: Any, workspace: Database) -> None:
    deal_id = new_deal(workspace, "Beans for a year")
    open_board(page)
    select = page.locator(f"#move-{deal_id}")
    select.focus()
    select.select_option("negotiation")
    page.keyboard.press("Tab")  # to the card's Move button
    assert page.evaluate("() => document.activeElement.id") == f"move-button-{deal_id}"
    page.keyboard.press("Enter")
    page.wait_for_url("**/deals?done=moved")
    assert stage_of(workspace, deal_id) == ("negotiation", None)
    assert page.locator(f"#column-negotiation #deal-{deal_id}").count() == 1
    # to won: the reason is asked on a page
    page.locator(f"#move-{deal_id}").select_option("won")
    page.locator(f"#move-button-{deal_id}").press("Enter")
    page.wait_for_selector("#reason-page-form")
    page.fill("#reason-text", "Loved the tasting")
    page.locator("#reason-submit").press("Enter")
    page.wait_for_url("**/deals?done=won")
    assert stage_of(workspace, deal_id) == ("won", "Loved the tasting")


def test_the_api_reference_renders_under_the_csp(page: Any) -> None:
    """Swagger UI from the vendored files, with no inline script and no CDN: the page lists the
    operations, and the browser reports no CSP violation."""
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto("/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/customers" in path for path in paths)
    assert violations == []


def test_the_report_page_prints_to_pdf_without_the_menu(page: Any) -> None:
    """The Reports page under the CSP: its SVG charts and style come from the page and the
    app's own files, the print style hides the menu, and Chromium prints it to a PDF."""
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto("/reports")
    assert page.locator("h1").inner_text().startswith("Monthly report: ")
    assert page.locator("#revenue svg.chart").count() == 1
    assert page.locator("header.top").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("[data-print]").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 10_000
    page.goto("/reports?period=week")
    assert page.locator("h1").inner_text().startswith("Weekly report: ")
    assert violations == []
