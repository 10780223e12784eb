"""End to end in a real headless Chromium against a real `soloist serve` on 127.0.0.1.

One demo workspace, one server and one browser per test session (per xdist worker). Debian's
chromium (/usr/bin/chromium) is driven by Playwright; Playwright's own browser download is not
used. Without chromium the tests are skipped, unless SOLOIST_TEST_REQUIRE_BROWSER=1 (CI), where a
missing browser is a failure. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mailserver import SmtpServer
from tests.web.conftest import RAW_KEY

CHROMIUM = Path(os.environ.get("SOLOIST_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-test-password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SOLOIST = [sys.executable, "-m", "soloist"]
SERVER_ENV: dict[str, str] = {}  # the served workspace's environment, for commands beside it
pytestmark = pytest.mark.slow


def _browser_required() -> bool:
    return os.environ.get("SOLOIST_TEST_REQUIRE_BROWSER", "") not in ("", "0")


def _unavailable(reason: str) -> None:
    if _browser_required():
        pytest.fail(f"{reason} (SOLOIST_TEST_REQUIRE_BROWSER=1: browser tests must run)")
    pytest.skip(f"{reason}: browser tests skipped (apt-get install chromium to run them)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        [*SOLOIST, *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"soloist {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def mail_server() -> Iterator[SmtpServer]:
    """The loopback SMTP server the served workspace sends its campaigns through."""
    with SmtpServer() as smtp:
        yield smtp


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, mail_server: SmtpServer) -> Iterator[str]:
    """A small demo workspace (analysed when `soloist analyze` succeeds), served by uvicorn with
    its worker, sending e-mail to ``mail_server``."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    workspace = tmp_path_factory.mktemp("browser") / "workspace"
    env = {
        **os.environ,
        **mail_server.environ,
        "SOLOIST_WORKSPACE": str(workspace),
        "SOLOIST_DEMO_PASSWORD": PASSWORD,
    }
    env.pop("SOLOIST_DATABASE_URL", None)
    SERVER_ENV.update(env)
    _run("demo", "--customers", "300", "--end-date", "2026-06-30", "--json", env=env)
    # Scores make the segment chart and the score panels appear; the pages work without them.
    subprocess.run([*SOLOIST, "analyze"], env=env, capture_output=True, check=False)
    port = _free_port()
    process = subprocess.Popen(
        [*SOLOIST, "serve", "--host", "127.0.0.1", "--port", str(port)],
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
    process.communicate(timeout=10)  # waits and closes the stderr pipe


@pytest.fixture(scope="session")
def browser(server: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh browser context (no cookies), English first, signed in as the demo owner."""
    context = browser.new_context(
        base_url=server, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    dialogs: list[str] = []

    def refuse(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    page.goto("/")
    assert "/login" in page.url
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{server}/")
    yield page
    assert dialogs == [], f"a script ran in the page: {dialogs}"
    context.close()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_dashboard_draws_its_charts(page: Any) -> None:
    page.wait_for_selector("#revenue-chart")
    drawn = page.evaluate(
        """() => {
            const canvas = document.getElementById('revenue-chart');
            const chart = Chart.getChart(canvas);
            const pixels = canvas.getContext('2d')
                .getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
            return {chart: !!chart, points: chart ? chart.data.labels.length : 0, painted};
        }"""
    )
    assert drawn["chart"]
    assert drawn["points"] >= 12
    assert drawn["painted"] > 1000, drawn
    assert page.locator("#cohort-heatmap tbody tr").count() >= 6
    assert page.locator("#kpi-revenue").inner_text().startswith("$")
    _shot(page, "dashboard")


def test_search_and_open_a_customer(page: Any) -> None:
    page.goto("/customers")
    first = page.locator("#customers a.customer-link").first
    name = first.inner_text()
    fragment = name.split()[-1][:4]
    page.fill("#customer-search", fragment)
    page.wait_for_function(
        "f => !!location.search.includes('q=' + encodeURIComponent(f))", arg=fragment
    )
    page.wait_for_selector("#customers")
    count = page.locator("#customer-count").inner_text()
    assert "customer" in count
    names = page.locator("#customers a.customer-link").all_inner_texts()
    assert names
    assert all(fragment.lower() in n.lower() for n in names)
    _shot(page, "customer-search")
    page.locator("#customers a.customer-link").first.click()
    page.wait_for_selector("#customer-name")
    assert page.locator("#timeline li").count() >= 1
    _shot(page, "customer-360")


def test_a_script_in_a_customer_name_shows_as_text(page: Any) -> None:
    token = page.locator("body").get_attribute("data-csrf-token")
    created = page.request.post(
        "/api/v1/customers",
        data={"name": "<script>alert(1)</script>", "notes": "<img src=x onerror=alert(2)>"},
        headers={"X-CSRF-Token": token},
    )
    assert created.status == 201, created.text()
    page.goto(f"/customers/{created.json()['id']}")
    assert page.locator("#customer-name").inner_text() == "<script>alert(1)</script>"
    assert page.locator(".notes").inner_text() == "<img src=x onerror=alert(2)>"
    page.goto("/customers?q=script")
    assert page.locator("#customers a.customer-link").first.inner_text() == (
        "<script>alert(1)</script>"
    )
    _shot(page, "escaped-name")


def test_switching_to_chinese(page: Any) -> None:
    page.select_option("#locale-select", "zh_Hans")
    page.wait_for_selector("text=仪表盘")
    assert "客户" in page.locator("header nav").inner_text()
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    page.wait_for_selector("#revenue-chart")
    _shot(page, "dashboard-zh")
    page.goto("/customers")
    assert "位客户" in page.locator("#customer-count").inner_text()
    _shot(page, "customers-zh")
    page.goto("/jobs")
    assert "后台任务" in page.locator("h1").inner_text()
    assert _raw_keys_or_reprs(page) == []
    _shot(page, "jobs-zh")
    page.select_option("#locale-select", "en")
    page.wait_for_selector("text=Dashboard")


def test_kept_figures_say_in_chinese_that_they_are_being_updated(page: Any) -> None:
    """The overview pages keep their figures until the data change, then show them marked
    while the next are worked out: the note reads in the page's language."""
    # The report last: building it brings the journeys' and campaigns' figures up to date.
    overviews = ("/journeys", "/campaigns", "/loyalty", "/feedback", "/reports")
    page.select_option("#locale-select", "zh_Hans")
    page.wait_for_selector("html[lang=zh-Hans]")
    for path in overviews:  # each has figures to keep
        page.goto(path)
    _run("ticket", "open", "--customer", "1", "--subject", "包裹还没到", "--body", "请帮我查一下",
         env=SERVER_ENV)  # fmt: skip
    # The report is of a period already over: a ticket opened now leaves it be, an order typed
    # in late for a past month does not.
    with tempfile.TemporaryDirectory() as folder:
        late = Path(folder) / "late.csv"
        late.write_text(
            "order_id,email,order_date,total\nlate-1,late@example.com,2025-03-01,12.50\n"
        )
        _run("import", "orders", str(late), env=SERVER_ENV)
    for path in overviews:
        page.goto(path)
        assert page.locator("#stale").inner_text() == "这些数据正在更新；请稍后刷新以查看最新数据。"
        text = page.locator("body").inner_text()
        assert "being updated" not in text
        assert _raw_keys_or_reprs(page) == []
    _shot(page, "loyalty-being-updated-zh")
    page.select_option("#locale-select", "en")
    page.wait_for_selector("html[lang=en]")


def _raw_keys_or_reprs(page: Any) -> list[str]:
    text = page.locator("body").inner_text()
    return RAW_KEY.findall(text) + (["{'"] if "{'" in text else [])


def test_the_customer_page_shows_no_raw_key_or_dict_in_either_language(page: Any) -> None:
    page.goto("/customers?sort=risk")
    page.locator("#customers a.customer-link").first.click()
    page.wait_for_selector("#customer-name")
    customer = page.url
    assert _raw_keys_or_reprs(page) == []
    if page.locator("#reasons").count():
        assert "Churn risk" in page.locator("#reasons").inner_text()
    page.select_option("#locale-select", "zh_Hans")
    page.wait_for_selector("html[lang=zh-Hans]")
    page.goto(customer)
    page.wait_for_selector("#customer-name")
    assert "时间线" in page.locator("body").inner_text()
    assert _raw_keys_or_reprs(page) == []
    if page.locator("#reasons").count():
        assert "流失风险" in page.locator("#reasons").inner_text()
    _shot(page, "customer-360-zh")
    page.select_option("#locale-select", "en")
    page.wait_for_selector("html[lang=en]")


def _until_recommendations_are_ready(page: Any) -> None:
    """Reload the customer page while it says the recommender's first fit is still running
    (the page does not wait for it; `soloist serve` starts it at once)."""
    deadline = time.monotonic() + 120
    while page.locator("#recommendations-preparing").count():
        assert time.monotonic() < deadline, "the recommender's first fit did not finish"
        page.wait_for_timeout(500)
        page.reload()
        page.wait_for_selector("#customer-recommendations")


def test_the_feedback_page_and_the_offers_read_right_in_both_languages(page: Any) -> None:
    page.goto("/customers?sort=risk")
    page.locator("#customers a.customer-link").first.click()
    page.wait_for_selector("#customer-recommendations")
    _until_recommendations_are_ready(page)
    customer = page.url
    assert "Because they bought" in page.locator("#customer-recommendations").inner_text()
    page.goto("/feedback?months=24")  # the demo business here ends on 2026-06-30
    page.wait_for_selector("#sentiment-method")
    assert "What unhappy customers talk about" in page.locator("body").inner_text()
    assert _raw_keys_or_reprs(page) == []
    page.select_option("#locale-select", "zh_Hans")
    page.wait_for_selector("html[lang=zh-Hans]")
    page.goto("/feedback?months=24")
    text = page.locator("body").inner_text()
    assert "不满意的客户在说什么" in text
    assert "What unhappy customers" not in text
    assert "Sentiment is scored" not in text
    assert _raw_keys_or_reprs(page) == []
    _shot(page, "feedback-zh")
    page.goto(customer)
    offers = page.locator("#customer-recommendations").inner_text()
    assert "下一步推荐什么" in offers
    assert "因为买过" in offers
    assert "Because" not in offers
    page.select_option("#locale-select", "en")
    page.wait_for_selector("html[lang=en]")


def test_import_through_the_wizard(page: Any, tmp_path: Path) -> None:
    upload = tmp_path / "new-orders.csv"
    upload.write_text(
        "order_id,email,name,date,total,currency\n"
        "W-1001,wizard.one@example.com,Wizard One,2026-06-01,19.90,USD\n"
        "W-1002,wizard.two@example.com,Wizard Two,2026-06-02,25.00,USD\n",
        encoding="utf-8",
    )
    page.goto("/import")
    page.select_option("select[name=kind]", "orders")
    page.set_input_files("input[name=file]", str(upload))
    page.click("#import-upload button[type=submit]")
    page.wait_for_selector("#detected-format")
    assert "generic" in page.locator("#detected-format").inner_text()
    assert page.locator("#mapping tbody tr").count() >= 4
    assert page.locator("#rows-read").inner_text() == "2"
    _shot(page, "import-preview")
    page.click("#import-confirm button[type=submit]")
    page.wait_for_selector("#import-result")
    assert "Imported." in page.locator("#import-result").inner_text()
    assert page.locator("#rows-imported").inner_text() == "2"
    _shot(page, "import-done")
    page.goto("/customers?q=Wizard")
    assert page.locator("#customers a.customer-link").count() == 2


def _newsletter(page: Any) -> str:
    """The value of the demo's saved list "Newsletter" in the segment select."""
    options = page.locator("#segment-select option")
    for index in range(options.count()):
        if options.nth(index).inner_text().startswith("Newsletter"):
            return str(options.nth(index).get_attribute("value"))
    raise AssertionError("the demo has no Newsletter list")


def test_write_a_campaign_with_its_live_preview_in_both_languages(
    page: Any, mail_server: SmtpServer
) -> None:
    from playwright.sync_api import expect

    page.goto("/campaigns")
    page.click("#new-campaign")
    page.wait_for_selector("#campaign-form")
    page.fill("#campaign-name-input", "Browser beans")
    page.select_option("#segment-select", _newsletter(page))
    expect(page.locator("#audience-reachable")).to_contain_text("customers will receive it")
    frame = page.frame_locator("#preview-frame").locator("body")

    page.fill("#subject-en", "Fresh beans, {{ customer.first_name }}")
    page.locator("#body-en").press_sequentially("Hello {{ customer.name }}, the new roast is in.")
    expect(frame).to_contain_text("Hello Ada Lovelace, the new roast is in.")
    expect(page.locator("#preview-subject")).to_have_text("Fresh beans, Ada")
    page.locator("#body-en").press_sequentially(" Enjoy!")
    expect(frame).to_contain_text("the new roast is in. Enjoy!")  # it follows the typing
    page.locator("#body-en").press_sequentially("\n{{ customer.points }")
    expect(page.locator("#preview #campaign-error")).to_contain_text("line 2")
    for _ in range(len("\n{{ customer.points }")):
        page.locator("#body-en").press("Backspace")
    expect(frame).to_contain_text("Enjoy!")
    _shot(page, "campaign-editor")

    page.click("#tab-zh")
    expect(page.locator("#panel-zh")).to_be_visible()
    expect(page.locator("#panel-en")).to_be_hidden()
    page.fill("#subject-zh", "{{ customer.name }}，新豆到了")
    page.locator("#body-zh").press_sequentially("您好！新一季的咖啡豆到了。")
    expect(page.locator("#preview-result")).to_have_attribute("data-language", "zh-CN")
    expect(frame).to_contain_text("新一季的咖啡豆到了")
    expect(page.locator("#preview-subject")).to_have_text("Ada Lovelace，新豆到了")
    _shot(page, "campaign-editor-zh")
    page.click("#save-campaign")
    expect(page.locator("#campaign-done")).to_contain_text("created as a draft")
    expect(page.locator("#tab-zh")).to_contain_text("✓")

    page.click("#send-now")
    reachable = page.locator("#audience-counts").get_attribute("data-reachable")
    expect(page.locator("#send-dialog")).to_be_visible()
    expect(page.locator("#send-count")).to_contain_text(f"{reachable} customers will receive")
    _shot(page, "campaign-send-dialog")
    page.click("#confirm-send")
    expect(page.locator("#campaign-done")).to_contain_text("Sending started")
    # the worker of `soloist serve` sends it; the page follows and reloads when it is done
    expect(page.locator("#campaign-status")).to_have_text("sent", timeout=60_000)
    expect(page.locator("#progress-text")).to_have_text(f"{reachable} of {reachable} sent")
    assert len(mail_server.handler.messages()) >= int(reachable or 0) > 0


def test_the_results_of_a_sent_campaign_draw_their_chart(page: Any) -> None:
    page.goto("/campaigns")
    page.locator("#campaigns a.campaign-link", has_text="Spring espresso launch").click()
    page.wait_for_selector("#campaign-chart")
    drawn = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById('campaign-chart'));
            return chart ? chart.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0)) : null;
        }"""
    )
    assert drawn is not None
    clicks, orders = drawn
    assert clicks > 0
    assert orders > 0
    assert page.locator("#by-language tbody tr").count() == 2
    assert "unreliable" in page.locator("#opens-note").inner_text()
    _shot(page, "campaign-results")


def test_the_chinese_campaign_pages_show_no_raw_keys(page: Any) -> None:
    page.select_option("#locale-select", "zh_Hans")
    page.wait_for_selector("html[lang=zh-Hans]")
    try:
        page.goto("/campaigns")
        assert "营销活动" in page.locator("h1").inner_text()
        assert _raw_keys_or_reprs(page) == []
        _shot(page, "campaigns-zh")
        page.locator("#campaigns a.campaign-link", has_text="Spring espresso launch").click()
        page.wait_for_selector("#campaign-chart")
        assert "效果" in page.locator("#results h2").inner_text()
        assert _raw_keys_or_reprs(page) == []
        _shot(page, "campaign-results-zh")
        page.goto("/campaigns/new")
        page.wait_for_selector("#campaign-form")
        assert _raw_keys_or_reprs(page) == []
        assert "实时预览" in page.locator(".preview-head").inner_text()
    finally:
        page.select_option("#locale-select", "en")
        page.wait_for_selector("html[lang=en]")


def test_the_sample_size_guide_follows_the_typing(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/campaigns/new")
    page.wait_for_selector("#campaign-form")
    page.select_option("#segment-select", _newsletter(page))
    expect(page.locator("#audience-reachable")).to_contain_text("customers will receive it")
    expect(page.locator("#guide")).to_contain_text("Switch the test on")
    page.click("#variant-tab-B")  # adding version B switches the test on
    expect(page.locator("#ab-toggle")).to_be_checked()
    expect(page.locator("#panel-B-en")).to_be_visible()
    page.fill("#subject-B-en", "B: {{ customer.first_name }}, fresh beans")
    page.locator("#body-B-en").press_sequentially("Version B for {{ customer.name }}.")
    expect(page.locator("#preview-subject")).to_have_text("B: Ada, fresh beans")
    expect(page.frame_locator("#preview-frame").locator("body")).to_contain_text(
        "Version B for Ada Lovelace."
    )

    page.fill("#looks-input", "1")
    page.fill("#baseline-input", "5")
    page.fill("#lift-input", "1")
    expect(page.locator("#guide-needed")).to_have_text("8,158")  # 5 % → 6 %, one look
    expect(page.locator("#guide-warning")).to_contain_text("this test can only find lifts of")
    _shot(page, "campaign-guide-too-small")
    page.fill("#lift-input", "40")
    expect(page.locator("#guide-verdict")).to_contain_text("Enough customers")
    expect(page.locator("#guide-warning")).to_have_count(0)
    page.uncheck("#ab-toggle")
    expect(page.locator("#guide")).to_contain_text("Switch the test on")


def test_a_journey_shows_one_customers_timeline(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/journeys/new")
    page.fill("#journey-name-input", "Browser reviews")
    page.select_option("#trigger-select", "order")
    expect(page.locator("#days-order")).to_be_visible()
    expect(page.locator("#threshold-input")).to_be_hidden()
    page.select_option("#trigger-select", "churn_risk")
    expect(page.locator("#threshold-input")).to_be_visible()
    page.select_option("#trigger-select", "order")
    page.fill("#subject-en", "How is your coffee, {{ customer.first_name }}?")
    page.locator("#body-en").press_sequentially("Hello {{ customer.name }}, tell us.")
    expect(page.frame_locator("#preview-frame").locator("body")).to_contain_text(
        "Hello Ada Lovelace, tell us."
    )
    page.click("#save-journey")
    expect(page.locator("#journey-done")).to_contain_text("The journey was created")
    page.select_option("#recent-customer", index=1)
    expect(page.locator("#timeline-result")).not_to_contain_text("Choose a customer")
    _shot(page, "journey-editor")


def test_the_a_b_and_journey_pages_read_right_in_both_languages(page: Any) -> None:
    """The demo's decided A/B test with its holdout, and its journeys with their timeline: no
    raw key in either language, and the Chinese pages' panels in Chinese."""
    chinese = {
        "#ab-results": "A/B 测试",
        "#holdout-results": "对照组",
        "#journey-results": "实测效果",
    }

    def visit(language: str) -> None:
        page.goto("/campaigns")
        page.locator("#campaigns a.campaign-link", has_text="Autumn blend").click()
        page.wait_for_selector("#ab-results")
        assert _raw_keys_or_reprs(page) == []
        if language == "zh":
            for selector in ("#ab-results", "#holdout-results"):
                assert chinese[selector] in page.locator(selector).inner_text()
        _shot(page, f"campaign-ab-{language}")
        page.goto("/journeys")
        assert _raw_keys_or_reprs(page) == []
        page.locator("a", has_text="Review request").first.click()
        page.wait_for_selector("#journey-results")
        page.select_option("#recent-customer", index=1)
        page.wait_for_selector("#journey-timeline")
        assert _raw_keys_or_reprs(page) == []
        if language == "zh":
            assert chinese["#journey-results"] in page.locator("#journey-results").inner_text()
        _shot(page, f"journey-{language}")

    visit("en")
    page.select_option("#locale-select", "zh_Hans")
    page.wait_for_selector("html[lang=zh-Hans]")
    try:
        visit("zh")
    finally:
        page.select_option("#locale-select", "en")
        page.wait_for_selector("html[lang=en]")
