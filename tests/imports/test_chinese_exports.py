"""Chinese shop exports (Taobao/Tmall, Pinduoduo …): their header words and order statuses are read
as the English ones are (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from soloist.imports import FORMATS, read_table
from soloist.imports.synonyms import header_key, map_by_synonyms
from soloist.imports.values import parse_order_status

SHOPS = Path(__file__).parents[1] / "data" / "chinese-shops"


def _mapped(name: str) -> dict[str, str]:
    table = read_table(SHOPS / name)
    mapping = FORMATS.detect(table).map_columns(table, "orders")
    return {field: table.header[index] for field, index in mapping.items()}


def test_a_taobao_export_is_gbk_and_its_columns_are_understood() -> None:
    table = read_table(SHOPS / "taobao_orders.csv")
    assert table.encoding == "gb18030"
    assert _mapped("taobao_orders.csv") == {
        "order_id": "订单编号",
        "customer_id": "买家会员名",
        "total": "买家实际支付金额",  # what the buyer paid, not 总金额 before it
        "status": "订单状态",
        "name": "收货人姓名",
        "phone": "联系手机",  # the mobile, not the landline 联系电话 before it
        "ordered_at": "订单创建时间",  # placed, not 订单付款时间
        "description": "宝贝标题",
        "quantity": "宝贝总数量",
        "refunded": "退款金额",
    }


def test_a_pinduoduo_export_with_units_after_its_column_names_is_understood() -> None:
    assert _mapped("pinduoduo_orders.csv") == {
        "description": "商品",
        "order_id": "订单号",
        "status": "订单状态",
        "line_amount": "商品总价(元)",
        "discount": "店铺优惠折扣(元)",
        "total": "用户实付金额(元)",
        "quantity": "商品数量(件)",
        "name": "收货人",
        "phone": "手机",
        "ordered_at": "订单成交时间",
        "sku": "商品id",
    }


def test_units_in_brackets_do_not_change_a_column_name() -> None:
    assert header_key("实付金额(元)") == header_key("实付金额（元）") == "实付金额"
    assert header_key("商品数量(件)") == "商品数量"
    assert header_key("Amount (USD)") == "amountusd"  # not a unit this reads away


def test_the_first_column_of_a_field_wins_unless_a_later_one_is_preferred() -> None:
    header = ["总金额", "订单付款时间", "实付金额", "订单创建时间", "金额"]
    assert map_by_synonyms("orders", header) == {"total": 2, "ordered_at": 3}
    assert map_by_synonyms("orders", ["amount", "total"]) == {"total": 0}


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("交易成功", "paid"),
        ("已完成", "paid"),
        ("买家已付款", "paid"),
        ("买家已付款，等待卖家发货", "paid"),
        ("待发货", "paid"),  # paid, waiting to be shipped
        ("已发货", "paid"),
        ("卖家已发货，等待买家确认", "paid"),
        ("待收货", "paid"),
        ("已签收", "paid"),
        ("部分退款", "paid"),
        ("退款成功", "refunded"),
        ("交易关闭", "cancelled"),
        ("已取消", "cancelled"),
        ("等待买家付款", "pending"),
        ("待付款", "pending"),
        ("partially_refunded", "paid"),  # kept as paid; the refunded amount beside it
        ("Partially Refunded", "paid"),
    ],
)
def test_chinese_and_english_order_statuses(word: str, status: str) -> None:
    assert parse_order_status(word) == status


def test_an_unknown_status_is_named_and_the_way_to_map_it_is_said() -> None:
    with pytest.raises(ValueError, match=r"'invoiced'.*--map-value status:invoiced=paid"):
        parse_order_status("invoiced")
    with pytest.raises(ValueError, match=r'--map-value "status:Em trânsito=paid"'):
        parse_order_status("Em trânsito")
