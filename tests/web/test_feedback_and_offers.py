"""The feedback page (sentiment and what unhappy customers talk about, in both languages) and
the customer page's "what to offer next"."""

from __future__ import annotations

import datetime as dt
import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from soloist.demo.business import build_demo
from soloist.domain.campaigns.personal import PersonalFields
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.feedback import record_survey_response
from soloist.domain.feedback_text import customer_complaints
from soloist.domain.orders import OrderCreate, ProductCreate, create_product, record_order
from soloist.domain.scoring.churn import score_churn_risk
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore
from tests.web.conftest import sign_in, visible_texts


def test_the_feedback_page_says_what_unhappy_customers_talk_about(
    web: TestClient, sqlite_database: Database
) -> None:
    today = dt.datetime.now(dt.UTC)
    said = [
        ("The parcel was late and the beans were stale.", 1),
        ("Late delivery again; stale beans.", 2),
        ("包裹晚到了三天，豆子不新鲜", 1),
        ("Lovely beans, friendly service!", 5),
        ("Great coffee, fast delivery.", 5),
        ("味道很好，谢谢", 5),
    ]
    with sqlite_database.session() as session:
        for text, score in said:
            record_survey_response(session, "csat", score, "t", comment=text, responded_at=today)
    token = sign_in(web)
    page = web.get("/feedback")
    assert page.status_code == 200
    texts = " ".join(visible_texts(page.text))
    assert "What unhappy customers talk about" in texts
    assert "built-in rules" in texts
    unhappy = page.text.split('id="negative-topics"')[1].split("</section>")[0]
    assert "stale" in unhappy
    assert "late" in unhappy
    assert "beans" not in unhappy  # said by happy customers too
    assert "包裹晚到了三天" in page.text.split('id="most-negative"')[1]

    web.post("/language", data={"locale": "zh_Hans", "next": "/", "csrf_token": token})
    chinese = web.get("/feedback?months=1").text
    assert "不满意的客户在说什么" in chinese
    assert "What unhappy customers talk about" not in chinese


def test_new_feedback_shows_the_previous_analysis_marked_until_the_new_one_is_ready(
    web: TestClient, sqlite_database: Database
) -> None:
    """The analysis takes half a minute at 100,000 customers and every new message changes it:
    the page shows the last one, marked, while the next is worked out in the background."""
    today = dt.datetime.now(dt.UTC)
    with sqlite_database.session() as session:
        record_survey_response(
            session, "nps", 0, "t", comment="Terrible: the lid was cracked, awful.",
            responded_at=today,
        )  # fmt: skip
    sign_in(web)
    first = web.get("/feedback").text
    assert 'id="stale"' not in first
    assert "the lid was cracked" in first
    with sqlite_database.session() as session:
        record_survey_response(
            session, "nps", 0, "t", comment="Horrible service, the refund never arrived.",
            responded_at=today,
        )  # fmt: skip
    marked = web.get("/feedback").text
    assert 'id="stale"' in marked
    assert "the refund never arrived" not in marked
    deadline = time.monotonic() + 30
    while 'id="stale"' in (page := web.get("/feedback").text):
        assert time.monotonic() < deadline, "the new analysis was never worked out"
        time.sleep(0.05)
    assert "the refund never arrived" in page


def _offers(web: TestClient, customer_id: int, headers: dict[str, str] | None = None) -> str:
    page = web.get(f"/customers/{customer_id}", headers=headers).text
    return page.split('id="customer-recommendations"')[1].split("</section>")[0]


def test_the_customer_page_offers_what_similar_customers_bought(
    web: TestClient, sqlite_database: Database
) -> None:
    with sqlite_database.session() as session:
        for sku, name in [("K1", "Kettle"), ("F1", "Filters"), ("M1", "Mug"), ("T1", "Tin")]:
            create_product(
                session, ProductCreate(sku=sku, name=name, price="5.00", currency="USD"), "t"
            )
        baskets = [["K1", "F1"], ["K1", "F1", "M1"], ["K1", "F1"], ["M1", "T1"], ["M1", "T1"]]
        for n, basket in enumerate(baskets * 4):
            person = create_customer(
                session, CustomerCreate(name=f"P{n}", email=f"p{n}@example.com"), "t"
            )
            record_order(
                session,
                OrderCreate(
                    customer_id=person.id, external_id=f"o{n}", currency="USD",
                    ordered_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC), status="paid",
                    lines=[{"sku": s, "quantity": 1, "unit_price": "5.00"} for s in basket],
                ),
                "t",
            )  # fmt: skip
        probe = create_customer(session, CustomerCreate(name="Probe", email="x@example.com"), "t")
        record_order(
            session,
            OrderCreate(
                customer_id=probe.id, external_id="probe", currency="USD",
                ordered_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), status="paid",
                lines=[{"sku": "K1", "quantity": 1, "unit_price": "5.00"}],
            ),
            "t",
        )  # fmt: skip
        probe_id = probe.id
    sign_in(web)
    # The page never waits for the model's first fit: it says so (in the reader's language),
    # and the fit runs meanwhile.
    chinese = _offers(web, probe_id, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert 'id="recommendations-preparing"' in chinese
    assert "正在根据店铺订单准备推荐" in chinese
    assert "Recommendations are being prepared" not in chinese
    deadline = time.monotonic() + 60
    while 'id="recommendations-preparing"' in (offers := _offers(web, probe_id)):
        assert time.monotonic() < deadline, "the recommender's first fit did not finish"
        time.sleep(0.05)
    assert offers.index("Filters") < offers.index("Tin")
    assert "Because they bought Kettle" in offers
    assert 'Kettle <span class="muted">K1' not in offers  # already bought
    # The same offers reach a campaign's template.
    with sqlite_database.read_session() as session:
        fields = PersonalFields(session, dt.datetime.now(dt.UTC)).for_customers(
            session, [probe_id]
        )[probe_id]
    assert fields["recommendations"][0] == {"name": "Filters", "sku": "F1"}
    assert fields["recommendation"] == fields["recommendations"][0]
    assert "K1" not in {r["sku"] for r in fields["recommendations"]}


def test_a_churn_reason_says_what_the_customer_complained_about(
    web: TestClient, sqlite_database: Database
) -> None:
    """The reason is stored as a figure; the words come from the customer's own decrypted texts
    when the page is shown (nothing derived from them is stored in clear)."""
    end = dt.date.today()
    with sqlite_database.session() as session:
        build_demo(
            session, customers=300, seed=5, end_date=end,
            owner_email="demo@example.com", owner_password="demo-password-1",
        )  # fmt: skip
    with sqlite_database.session() as session:
        run_id = score_churn_risk(session, "USD", "test", horizon_days=90).id
        negative = next(
            s.customer_id
            for s in session.scalars(
                select(CustomerScore).where(CustomerScore.model_run_id == run_id)
            )
            if any(r["feature"] == "feedback_sentiment" for r in s.reasons["churn"])
        )
        complaints = customer_complaints(session, negative)
    assert complaints
    sign_in(web)
    page = web.get(f"/customers/{negative}").text
    shown = page.split('id="complaints"')[1].split("</span>")[0]
    assert complaints[0] in shown
