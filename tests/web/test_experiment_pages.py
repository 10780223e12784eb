"""The A/B test and the holdout on the campaign pages: the editor's test settings and its
sample-size guide, the results panels after a real send to a loopback SMTP server, and the
"send this variant to the rest" button."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from soloist.app import create_app
from soloist.config import Settings
from soloist.domain.campaigns import (
    get_campaign,
    get_experiment,
    sample_size_guide,
    send_campaign,
    take_look,
    variants_of,
)
from soloist.domain.orders import OrderCreate, record_order
from soloist.domain.users import add_user
from soloist.storage.database import Database
from soloist.storage.models import Message
from tests.domain.campaigns.builders import BODY_EN, add_audience
from tests.mailserver import SmtpServer
from tests.web.conftest import PASSWORD, raw_keys_and_reprs, sign_in, visible_texts

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
HTMX = {"HX-Request": "true"}


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_web(sqlite_database: Database, smtp_server: SmtpServer) -> Iterator[TestClient]:
    """The ``web`` client on a workspace whose e-mail goes to a loopback SMTP server."""
    values = {k.removeprefix("SOLOIST_").lower(): v for k, v in smtp_server.environ.items()}
    settings = Settings(**{**sqlite_database.settings.model_dump(), **values})
    sqlite_database.settings = settings
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
        add_user(session, "viewer@example.com", "readonly", PASSWORD, "test")
    with TestClient(create_app(settings, sqlite_database)) as client:
        yield client


def _form(token: str, **values: str | None) -> dict[str, str]:
    """The editor's form: an A/B test of two subjects, half the segment in the test (a value
    of None leaves the field out, as a browser does with an unchecked box)."""
    form: dict[str, str | None] = {
        "csrf_token": token,
        "name": "Beans A/B",
        "segment": "1",
        "channel": "email",
        "attribution_days": "7",
        "default_language": "en",
        "subject_en": "A: new beans",
        "body_en": BODY_EN,
        "subject_B_en": "B: the new roast is in",
        "body_B_en": BODY_EN,
        "ab_test": "on",
        "metric": "click",
        "baseline_pct": "5",
        "lift_pct": "5",
        "test_share_pct": "50",
        "looks": "3",
        "decision_hours": "72",
        "holdout_pct": "0",
        "send_time": "now",
        "send_window_hours": "24",
        "tab": "en",
        "variant_tab": "B",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def _create(client: TestClient, token: str, **values: str | None) -> int:
    response = client.post("/campaigns/new", data=_form(token, **values), follow_redirects=False)
    assert response.status_code == 303, response.text[:3000]
    found = re.fullmatch(r"/campaigns/(\d+)\?done=created", response.headers["location"])
    assert found
    return int(found.group(1))


def _click(database: Database, campaign_id: int, variant: str, share: float) -> None:
    """Mark the first ``share`` of the variant's sent messages clicked (a human click)."""
    with database.session() as session:
        ids = list(
            session.scalars(
                select(Message.id)
                .where(Message.campaign_id == campaign_id, Message.variant == variant,
                       Message.status == "sent")
                .order_by(Message.id)
            )
        )  # fmt: skip
        chosen = ids[: round(len(ids) * share)]
        now = dt.datetime.now(dt.UTC)
        session.execute(update(Message).where(Message.id.in_(chosen)).values(clicked_at=now))


def _section(html: str, element_id: str) -> str:
    return html.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


def test_the_guide_shows_what_a_test_needs_and_warns_when_the_segment_is_too_small(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 600)
    sign_in(web)
    small = web.get(
        "/campaigns/guide",
        params={"segment": "1", "baseline_pct": "5", "lift_pct": "1", "looks": "1"},
        headers=HTMX,
    )
    assert small.status_code == 200
    expected = sample_size_guide(baseline_rate=0.05, minimum_lift=0.01, reachable=600, looks=1)
    assert 'id="guide-needed">8,158<' in small.text  # the textbook figure for 5 % → 6 %
    assert 'id="guide-needed-total">16,316' in small.text
    assert 'id="guide-per-variant">300 ' in small.text
    assert f'id="guide-power">{round(expected["power_at_size"] * 100)}%<' in small.text
    warning = small.text.split('id="guide-warning"')[1].split("</div>")[0]
    detectable = f"{expected['detectable_lift'] * 100:.1f} percentage points"
    assert f"this test can only find lifts of {detectable} or more" in warning
    assert 'data-enough="no"' in small.text

    big = web.get(
        "/campaigns/guide",
        params={"segment": "1", "baseline_pct": "5", "lift_pct": "15", "looks": "1"},
    )
    assert 'data-enough="yes"' in big.text
    assert "Enough customers: the test finds a lift of 15.0 percentage points" in big.text
    assert 'id="guide-warning"' not in big.text

    three = web.get(  # a third version and a holdout leave each version fewer customers
        "/campaigns/guide",
        params={"segment": "1", "baseline_pct": "5", "lift_pct": "15", "looks": "1",
                "variants": "3", "holdout_pct": "10"},
    )  # fmt: skip
    assert 'id="guide-per-variant">180 ' in three.text
    assert "(3 versions)" in three.text

    no_segment = web.get("/campaigns/guide", params={"baseline_pct": "5", "lift_pct": "1"})
    assert "Choose a segment to compare" in no_segment.text
    assert 'id="guide-per-variant"' not in no_segment.text
    wrong = web.get("/campaigns/guide", params={"baseline_pct": "150", "lift_pct": "1"})
    assert "The current rate is a percentage between 0 and 100" in wrong.text
    off = web.get("/campaigns/guide", params={"from_editor": "1", "baseline_pct": "5"})
    assert "Switch the test on" in off.text
    chinese = web.get(
        "/campaigns/guide",
        params={"segment": "1", "baseline_pct": "5", "lift_pct": "1", "looks": "1"},
        headers=CHINESE,
    )
    assert "每个版本需要" in chinese.text
    assert "个百分点" in chinese.text
    assert raw_keys_and_reprs(visible_texts(chinese.text)) == []


def test_saving_the_editor_creates_the_test_with_its_variant_holdout_and_send_time(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 40)
    token = sign_in(web)
    new = web.get("/campaigns/new")
    assert 'id="ab-settings"' in new.text
    assert 'id="variant-tab-B"' in new.text  # the "add version B" tab
    assert "Switch the test on" in new.text

    campaign_id = _create(
        web, token, holdout_pct="10", send_time="optimised", send_window_hours="12",
        lift_pct="2.5", baseline_pct="4",
    )  # fmt: skip
    with sqlite_database.read_session() as session:
        experiment = get_experiment(session, campaign_id)
        assert experiment is not None
        assert (experiment.metric, experiment.looks, experiment.decision_hours) == ("click", 3, 72)
        assert experiment.baseline_rate == pytest.approx(0.04)
        assert experiment.minimum_lift == pytest.approx(0.025)
        assert experiment.test_share == pytest.approx(0.5)
        assert variants_of(session, campaign_id) == ["A", "B"]
        campaign = get_campaign(session, campaign_id)
        assert campaign.holdout_share == pytest.approx(0.1)
        assert (campaign.send_time, campaign.send_window_hours) == ("optimised", 12)

    page = web.get(f"/campaigns/{campaign_id}")
    assert 'name="baseline_pct" id="baseline-input" step="any" min="0" max="100" value="4"' in (
        page.text
    )
    assert 'value="2.5"' in page.text
    version_b = page.text.split('id="panel-B-en"')[1].split("</div>")[0]
    assert 'name="subject_B_en" value="B: the new roast is in"' in version_b
    assert 'id="variant-tab-C"' in page.text  # room for one more
    assert 'id="guide-needed"' in page.text  # the guide, computed for the saved figures

    no_b = web.post(f"/campaigns/{campaign_id}", data=_form(token, subject_B_en="", body_B_en=""))
    assert no_b.status_code == 422
    assert "An A/B test needs a version B" in no_b.text
    bad = web.post(f"/campaigns/{campaign_id}", data=_form(token, lift_pct="97"))
    assert bad.status_code == 422
    assert "the current rate plus the lift stays below 100%" in bad.text
    with sqlite_database.read_session() as session:  # nothing of a refused save was kept
        assert variants_of(session, campaign_id) == ["A", "B"]

    off = web.post(
        f"/campaigns/{campaign_id}",
        data=_form(token, ab_test=None, subject_B_en="", body_B_en="", holdout_pct="0"),
        follow_redirects=False,
    )
    assert off.status_code == 303
    with sqlite_database.read_session() as session:
        assert get_experiment(session, campaign_id) is None
        assert variants_of(session, campaign_id) == ["A"]
        assert get_campaign(session, campaign_id).holdout_share == 0


def test_the_results_show_each_variant_against_a_with_its_interval_and_the_verdict(
    mail_web: TestClient, sqlite_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(sqlite_database, 400)
    token = sign_in(mail_web)
    campaign_id = _create(mail_web, token)
    mail_web.post(f"/campaigns/{campaign_id}/send", data={"csrf_token": token})
    send_campaign(sqlite_database, campaign_id, "test")  # what the worker does
    _click(sqlite_database, campaign_id, "A", 0.04)
    _click(sqlite_database, campaign_id, "B", 0.30)

    page = mail_web.get(f"/campaigns/{campaign_id}")
    assert page.status_code == 200
    panel = _section(page.text, "ab-results")
    assert "No decision yet" in panel
    assert 'id="ab-next-look"' in panel
    assert "No look yet: the rule looks 3 times within 72 hours of sending." in panel
    interval = re.search(r'id="interval-B" data-low="([-\d.e]+)" data-high="([-\d.e]+)"', panel)
    assert interval, panel[:3000]
    assert 0 < float(interval.group(1)) < float(interval.group(2))  # B clearly above A
    assert 'data-includes-zero="no"' in panel
    assert 'class="ip-zero"' in panel
    assert 'class="ip-target"' in panel  # the lift the test looks for
    assert re.search(r'id="p-value-B">0\.000<', panel)
    assert re.search(r'id="p-best-B">(99|100)%<', panel)
    assert 'id="r-waiting"' in page.text  # half the segment waits for the winner

    with sqlite_database.session() as session:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
        look = take_look(session, campaign_id, "USD", later, "test")
        assert look is not None
        assert look["tests"]["B"]["crossed"]
    decided = _section(mail_web.get(f"/campaigns/{campaign_id}").text, "ab-results")
    assert "Version B won: it did better than A beyond chance." in decided
    assert "a boundary was crossed" in decided
    looks = decided.split('id="ab-looks"')[1].split("</table>")[0]
    assert "1 of 3" in looks
    assert "boundary ±" in looks
    assert "crossed" in looks
    assert 'id="winner-actions"' not in decided  # decided: no button any more

    chinese = mail_web.get(f"/campaigns/{campaign_id}", headers=CHINESE)
    assert "版本 B 胜出" in chinese.text
    assert raw_keys_and_reprs(visible_texts(chinese.text)) == []


def test_the_winner_button_sends_the_chosen_variant_to_the_rest(
    mail_web: TestClient, sqlite_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(sqlite_database, 60)
    token = sign_in(mail_web)
    campaign_id = _create(mail_web, token, test_share_pct="40")
    mail_web.post(f"/campaigns/{campaign_id}/send", data={"csrf_token": token})
    send_campaign(sqlite_database, campaign_id, "test")
    tested = len(smtp_server.handler.messages())
    page = mail_web.get(f"/campaigns/{campaign_id}")
    waiting = re.search(r'id="ab-waiting">(\d+) customers wait', page.text)
    assert waiting
    assert int(waiting.group(1)) == 60 - tested
    assert 'id="winner-B"' in page.text
    assert (
        mail_web.post(  # a forged form changes nothing
            f"/campaigns/{campaign_id}/winner", data={"variant": "B"}
        ).status_code
        == 403
    )

    chosen = mail_web.post(
        f"/campaigns/{campaign_id}/winner",
        data={"csrf_token": token, "variant": "B"},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == f"/campaigns/{campaign_id}?done=winner"
    with sqlite_database.read_session() as session:
        rows = session.execute(
            select(Message.status, Message.variant).where(Message.campaign_id == campaign_id)
        ).all()
        experiment = get_experiment(session, campaign_id)
        assert experiment is not None
        assert (experiment.decision, experiment.winner) == ("manual", "B")
    assert "waiting" not in {status for status, _ in rows}
    assert sum(1 for status, variant in rows if status == "queued" and variant == "B") == (
        60 - tested
    )
    done = mail_web.get(f"/campaigns/{campaign_id}?done=winner")
    assert "the chosen version goes to the rest of the segment now" in done.text
    assert "Version B was chosen by hand." in done.text

    send_campaign(sqlite_database, campaign_id, "test")
    remainder = smtp_server.handler.messages()[tested:]
    assert len(remainder) == 60 - tested
    assert {item.message["Subject"] for item in remainder} == {"B: the new roast is in"}
    again = mail_web.post(
        f"/campaigns/{campaign_id}/winner", data={"csrf_token": token, "variant": "A"}
    )
    assert again.status_code == 409
    assert 'id="campaign-error"' in again.text


def test_the_holdout_panel_shows_the_effect_beside_the_attributed_revenue(
    mail_web: TestClient, sqlite_database: Database, smtp_server: SmtpServer
) -> None:
    ids = add_audience(sqlite_database, 200)
    token = sign_in(mail_web)
    campaign_id = _create(mail_web, token, ab_test=None, subject_B_en="", body_B_en="",
                          holdout_pct="30")  # fmt: skip
    mail_web.post(f"/campaigns/{campaign_id}/send", data={"csrf_token": token})
    send_campaign(sqlite_database, campaign_id, "test")
    with sqlite_database.session() as session:
        statuses = dict(
            session.execute(
                select(Message.customer_id, Message.status).where(
                    Message.campaign_id == campaign_id
                )
            ).all()
        )
        started = get_campaign(session, campaign_id).started_at
        assert started is not None
        for number, customer_id in enumerate(ids):  # receivers buy one time in two
            if number % (2 if statuses[customer_id] == "sent" else 5) == 0:
                record_order(session, OrderCreate(
                    external_id=f"o{customer_id}", customer_id=customer_id,
                    ordered_at=started + dt.timedelta(minutes=1), currency="USD",
                    total=Decimal("20.00"),
                ), "test")  # fmt: skip
    page = mail_web.get(f"/campaigns/{campaign_id}")
    panel = _section(page.text, "holdout-results")
    held = sum(1 for status in statuses.values() if status == "holdout")
    assert f"{held} customers were held out at random and got nothing." in panel
    assert 'id="holdout-collecting"' in panel  # the 7-day window is still open
    assert "Still collecting until" in panel
    assert 'id="effect-bought"' in panel
    assert 'id="interval-revenue-per-customer"' in panel
    assert re.search(r'id="incremental-revenue">\+\$[\d,]+\.\d\d<', panel)
    assert "95% interval:" in panel
    assert 'id="attributed-revenue">$' in panel
    assert "The interval leaves out zero" in panel
    assert 'id="r-holdout">' in page.text
    chinese = _section(mail_web.get(f"/campaigns/{campaign_id}", headers=CHINESE).text,
                       "holdout-results")  # fmt: skip
    assert "增量收入" in chinese


def test_a_holdout_too_small_to_tell_says_it_cannot_be_told_from_noise(
    mail_web: TestClient, sqlite_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(sqlite_database, 40)
    token = sign_in(mail_web)
    campaign_id = _create(mail_web, token, ab_test=None, subject_B_en="", body_B_en="",
                          holdout_pct="50")  # fmt: skip
    mail_web.post(f"/campaigns/{campaign_id}/send", data={"csrf_token": token})
    send_campaign(sqlite_database, campaign_id, "test")
    panel = _section(mail_web.get(f"/campaigns/{campaign_id}").text, "holdout-results")
    assert "The interval includes zero: the effect cannot be told from noise yet." in panel


def test_a_read_only_user_sees_the_test_but_cannot_change_it(
    mail_web: TestClient, sqlite_database: Database, smtp_server: SmtpServer
) -> None:
    add_audience(sqlite_database, 40)
    campaign_id = _create(mail_web, sign_in(mail_web), test_share_pct="50")
    mail_web.cookies.clear()
    token = sign_in(mail_web, "viewer@example.com")
    page = mail_web.get(f"/campaigns/{campaign_id}")
    assert page.status_code == 200
    assert '<fieldset class="plain stack" id="ab-settings" disabled' in page.text
    assert 'id="variant-tab-C"' not in page.text  # no "add a version" for a reader
    assert 'id="variant-tab-B"' in page.text
    guide = mail_web.get("/campaigns/guide", params={"baseline_pct": "5", "lift_pct": "1"})
    assert guide.status_code == 200  # reading the guide changes nothing
    saved = mail_web.post(f"/campaigns/{campaign_id}", data=_form(token, ab_test=None))
    assert saved.status_code == 403
    winner = mail_web.post(
        f"/campaigns/{campaign_id}/winner", data={"csrf_token": token, "variant": "B"}
    )
    assert winner.status_code == 403
    with sqlite_database.read_session() as session:
        assert get_experiment(session, campaign_id) is not None


def test_the_chinese_editor_words_the_test_and_its_guide(
    web: TestClient, sqlite_database: Database
) -> None:
    add_audience(sqlite_database, 600)
    token = sign_in(web)
    campaign_id = _create(web, token, lift_pct="1", looks="1")
    page = web.get(f"/campaigns/{campaign_id}", headers=CHINESE)
    assert page.status_code == 200
    assert "A/B 测试" in page.text
    assert "对照组比例" in page.text
    assert "只能发现" in page.text  # the guide's "too small" warning
    assert raw_keys_and_reprs(visible_texts(page.text)) == []
