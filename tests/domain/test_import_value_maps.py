"""What an owner says a file's words mean (``--map-value``), feedback that keeps its own id and
order, refunds beside a paid order, and phones read in the right country."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from soloist.domain.imports import (
    ImportOptions,
    ImportReport,
    check_value_map,
    import_file,
    merge_value_maps,
    parse_value_maps,
    read_value_map_file,
)
from soloist.errors import ImportRefusedError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import Customer, Order, Review, SurveyResponse

SHOPS = Path(__file__).parents[1] / "data" / "chinese-shops"


def run(database: Database, kind: str, path: Path, **options: Any) -> ImportReport:
    with database.session() as session:
        return import_file(session, kind, path, ImportOptions(**options), "test")


def _orders_file(tmp_path: Path, status: str = "invoiced") -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(
        "email,order id,date,status,amount,refunded\n"
        "ana@example.com,1001,2024-01-05,paid,40.00,\n"
        f"ben@example.com,1002,2024-01-06,{status},25.00,\n"
        "cy@example.com,1003,2024-01-07,partially_refunded,30.00,10.00\n"
        "di@example.com,1004,2024-01-08,paid,20.00,20.00\n"
    )
    return path


def test_an_unknown_status_is_refused_naming_value_row_column_and_the_way_out(
    sqlite_database: Database, tmp_path: Path
) -> None:
    with pytest.raises(ImportRefusedError) as refused:
        run(sqlite_database, "orders", _orders_file(tmp_path))
    assert refused.value.details["errors"] == [
        {
            "row": 3,
            "column": "status",
            "message": "unknown order status 'invoiced' (use paid, refunded, cancelled or "
            "pending, or say what it means: --map-value status:invoiced=paid)",
        }
    ]


def test_a_mapped_status_is_read_as_what_it_maps_to_and_refunds_sit_beside_paid_orders(
    sqlite_database: Database, tmp_path: Path
) -> None:
    value_map = parse_value_maps(["status:Invoiced=paid"])
    report = run(sqlite_database, "orders", _orders_file(tmp_path), value_map=value_map)
    assert report.imported == 4
    assert "status: 'invoiced' read as 'paid' (1 rows)" in report.notes
    with sqlite_database.session() as session:
        held = {o.external_id: o for o in session.scalars(select(Order))}
        assert held["file:1002"].status == "paid"
        assert (held["file:1003"].status, held["file:1003"].refunded_minor) == ("paid", 1000)
        assert (held["file:1004"].status, held["file:1004"].refunded_minor) == ("refunded", 2000)
        assert held["file:1001"].refunded_minor == 0
    again = run(sqlite_database, "orders", _orders_file(tmp_path), value_map=value_map)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 4)


def test_value_maps_from_the_command_line_and_from_files(tmp_path: Path) -> None:
    toml = tmp_path / "map.toml"
    toml.write_text(
        '[status]\ninvoiced = "paid"\n"Em trânsito" = "paid"\n\n[channel]\nIG = "instagram"\n'
    )
    csv = tmp_path / "map.csv"
    csv.write_text(
        "field,word,value\nstatus,unavailable,cancelled\n# a comment\nstatus,invoiced,pending\n"
    )
    merged = merge_value_maps(
        read_value_map_file(toml), read_value_map_file(csv), parse_value_maps(["status:x=paid"])
    )
    assert merged == {
        "status": {
            "invoiced": "pending",  # the later map wins
            "em_trânsito": "paid",
            "unavailable": "cancelled",
            "x": "paid",
        },
        "channel": {"ig": "instagram"},
    }
    with pytest.raises(ValidationError, match="FIELD:WORD=VALUE"):
        parse_value_maps(["invoiced=paid"])
    with pytest.raises(ValidationError, match="not a field of any import kind"):
        parse_value_maps(["colour:red=paid"])
    with pytest.raises(ValidationError, match=r"'payed' is not a orders status \(use paid"):
        check_value_map("orders", parse_value_maps(["status:invoiced=payed"]))
    check_value_map("subscriptions", parse_value_maps(["status:live=active"]))


def _feedback_file(tmp_path: Path, score: int = 4) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_text(
        "review id,email,order number,rating,title,date\n"
        f"r-1,ana@example.com,1001,{score},,2024-02-01\n"
        "r-2,ana@example.com,1001,4,,2024-02-01\n"
        "r-3,ben@example.com,9999,5,Great,2024-02-02\n"
    )
    return path


def test_feedback_keeps_its_own_id_and_its_order(database: Database, tmp_path: Path) -> None:
    run(database, "orders", _orders_file(tmp_path, "paid"))
    first = run(database, "feedback", _feedback_file(tmp_path))
    assert (first.imported, first.details["feedback_order_not_found"]) == (3, 1)
    with database.session() as session:
        reviews = {r.external_id: r for r in session.scalars(select(Review))}
        assert sorted(reviews) == ["file:r-1", "file:r-2", "file:r-3"]  # alike, yet two
        order = session.scalars(select(Order).where(Order.external_id == "file:1001")).one()
        assert reviews["file:r-1"].order_id == reviews["file:r-2"].order_id == order.id
        assert reviews["file:r-3"].order_id is None
    again = run(database, "feedback", _feedback_file(tmp_path))
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 3)
    changed = run(database, "feedback", _feedback_file(tmp_path, score=2))
    assert (changed.imported, changed.updated, changed.unchanged) == (0, 1, 2)
    with database.session() as session:
        review = session.scalars(select(Review).where(Review.external_id == "file:r-1")).one()
        assert review.rating == 2


def test_survey_answers_keep_their_id_too(sqlite_database: Database, tmp_path: Path) -> None:
    path = tmp_path / "nps.csv"
    path.write_text(
        "response id,email,nps,date\n"
        "a1,ana@example.com,9,2024-03-01\n"
        "a2,ana@example.com,9,2024-03-01\n"
    )
    assert run(sqlite_database, "feedback", path).imported == 2
    assert run(sqlite_database, "feedback", path).unchanged == 2
    with sqlite_database.session() as session:
        ids = sorted(a.external_id for a in session.scalars(select(SurveyResponse)))
        assert ids == ["file:a1", "file:a2"]


def _phones(database: Database) -> dict[str, str | None]:
    with database.session() as session:
        return {c.name: c.phone for c in session.scalars(select(Customer))}


def test_a_gbk_customers_file_reads_its_mobile_numbers_as_chinese_in_a_new_workspace(
    database: Database,
) -> None:
    report = run(database, "customers", SHOPS / "customers.csv")  # no --region, no country
    assert report.imported == 5
    assert "phones without +country read as Chinese (CN): the file is in GBK" in report.notes
    assert _phones(database) == {
        "李晓明": "+8613800138000",
        "王芳": "+8613912345678",
        "张伟": "+8615011112222",
        "陈静": "+8618688889999",
        "周杰": "+8613600001234",
    }


def test_phones_are_read_in_the_workspace_country_and_chinese_headers_say_china(
    sqlite_database: Database, tmp_path: Path
) -> None:
    english = tmp_path / "people.csv"
    english.write_text("name,phone\nAmy Pond,020 7946 0958\n")
    with pytest.raises(ImportRefusedError, match=r"row 2, column 'phone'"):
        run(sqlite_database, "customers", english)  # no country anywhere: refused, as before
    run(sqlite_database, "customers", english, country="GB")
    chinese = tmp_path / "客户.csv"
    chinese.write_text("姓名,手机\n刘洋,13800001111\n", encoding="utf-8")
    run(sqlite_database, "customers", chinese, country="GB")  # Chinese headers: CN numbers
    hong_kong = tmp_path / "香港客户.csv"
    hong_kong.write_text("姓名,手机\n陈大文,91234567\n", encoding="utf-8")
    run(sqlite_database, "customers", hong_kong, country="HK")  # ... unless the shop is in HK
    assert _phones(sqlite_database) == {
        "Amy Pond": "+442079460958",
        "刘洋": "+8613800001111",
        "陈大文": "+85291234567",
    }


def test_chinese_shop_orders_keep_partial_refunds_and_closed_trades(
    sqlite_database: Database,
) -> None:
    run(sqlite_database, "customers", SHOPS / "customers.csv")
    taobao = run(sqlite_database, "orders", SHOPS / "taobao_orders.csv", currency="CNY")
    assert (taobao.imported, taobao.customers["created"]) == (7, 1)  # 赵磊 is new
    with sqlite_database.session() as session:
        held = {o.external_id: o for o in session.scalars(select(Order))}
        refunded_in_part = held["file:3386201100457789001"]
        assert (refunded_in_part.status, refunded_in_part.total_minor) == ("paid", 23600)
        assert refunded_in_part.refunded_minor == 2000
        assert held["file:3386300020001112223"].status == "cancelled"  # 交易关闭
        assert held["file:3386500040007778889"].status == "pending"  # 等待买家付款
        assert held["file:3386198877120036554"].status == "paid"  # 卖家已发货，等待买家确认
