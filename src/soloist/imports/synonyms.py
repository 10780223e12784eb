"""The fields each kind of import understands, the column names that mean them, and the words
that mean an interaction's channel and direction.

Column names are compared after :func:`header_key` (case, spaces, underscores, punctuation and
full-width forms ignored), so ``Customer ID``, ``customer_id`` and ``CUSTOMERID`` are one name.
The words of a status, a billing interval or a country are read in :mod:`soloist.imports.values`;
the survey scales are :data:`soloist.vocabulary.SURVEY_SCALES`.
"""

from __future__ import annotations

import re
import unicodedata

KINDS = ("customers", "orders", "subscriptions", "interactions", "feedback")

_CONTACT: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customer id",
        "customerid",
        "customer no",
        "customer number",
        "client id",
        "member id",
        "客户id",
        "客户编号",
        "客户号",
        "会员id",
        "会员编号",
        "会员号",
        "用户id",
        "买家会员名",
        "买家账号",
        "买家id",
        "客户账号",
        "用户账号",
        "会员账号",
        "买家会员id",
    ),
    "name": (
        "name",
        "customer",
        "customer name",
        "full name",
        "client",
        "client name",
        "contact",
        "contact name",
        "buyer",
        "billing name",
        "客户",
        "客户名称",
        "客户姓名",
        "姓名",
        "名称",
        "名字",
        "联系人",
        "收货人",
        "买家",
        "买家昵称",
        "会员名称",
        "收货人姓名",
        "收件人",
        "收件人姓名",
        "买家姓名",
        "提货人",
        "联系人姓名",
    ),
    "first_name": ("first name", "firstname", "given name", "名"),
    "last_name": ("last name", "lastname", "surname", "family name", "姓"),
    "email": (
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "mail",
        "邮箱",
        "电子邮件",
        "电子邮箱",
        "邮件",
        "邮箱地址",
    ),
    "phone": (
        "phone",
        "telephone",
        "tel",
        "mobile",
        "cell",
        "phone number",
        "mobile phone",
        "mobile number",
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "联系电话",
        "电话号码",
        "联系手机",
        "收货人手机",
        "收货人手机号",
        "收货人电话",
        "收件人手机",
        "收件人手机号",
        "收件人电话",
        "买家手机号",
        "提货人手机号",
    ),
    "company": (
        "company",
        "organisation",
        "organization",
        "business",
        "公司",
        "公司名称",
        "单位",
        "企业",
    ),
    "country": ("country", "country code", "国家", "国家/地区", "国家地区"),
}

FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        **_CONTACT,
        "address": (
            "address",
            "street",
            "address1",
            "address line 1",
            "地址",
            "收货地址",
            "详细地址",
            "通讯地址",
        ),
        "birthday": ("birthday", "birth date", "date of birth", "dob", "生日", "出生日期"),
        "notes": ("notes", "note", "remark", "remarks", "备注", "说明"),
        "tags": ("tags", "tag", "labels", "标签"),
        "language": ("language", "lang", "locale", "语言"),
        "created_at": (
            "created",
            "created at",
            "created date",
            "signup date",
            "signed up",
            "registered",
            "first seen",
            "customer since",
            "注册时间",
            "注册日期",
            "创建时间",
            "加入时间",
        ),
    },
    "orders": {
        **_CONTACT,
        "order_id": (
            "order id",
            "order",
            "order no",
            "order number",
            "invoice",
            "invoice no",
            "invoice number",
            "transaction id",
            "订单号",
            "订单编号",
            "订单id",
            "单号",
            "订单",
            "主订单编号",
            "订单编码",
        ),
        "ordered_at": (
            "date",
            "order date",
            "ordered at",
            "created at",
            "purchase date",
            "invoice date",
            "transaction date",
            "paid at",
            "下单时间",
            "订单时间",
            "日期",
            "创建时间",
            "付款时间",
            "支付时间",
            "购买日期",
            "购买时间",
            "交易时间",
            "成交时间",
            "订单创建时间",
            "订单付款时间",
            "买家付款时间",
            "订单成交时间",
            "下单日期",
        ),
        "status": (
            "status",
            "order status",
            "financial status",
            "payment status",
            "状态",
            "订单状态",
            "交易状态",
            "支付状态",
            "订单状态名称",
        ),
        "currency": ("currency", "currency code", "币种", "货币"),
        "total": (
            "total",
            "amount",
            "order total",
            "total amount",
            "grand total",
            "sum",
            "value",
            "revenue",
            "金额",
            "总金额",
            "订单金额",
            "实付金额",
            "实收金额",
            "合计",
            "总价",
            "付款金额",
            "支付金额",
            "消费金额",
            "销售额",
            "买家实际支付金额",
            "实付款",
            "订单实付金额",
            "用户实付金额",
            "应付金额",
            "订单总金额",
        ),
        "discount": (
            "discount",
            "discount amount",
            "优惠",
            "优惠金额",
            "折扣",
            "折扣金额",
            "店铺优惠",
            "店铺优惠折扣",
            "订单优惠",
        ),
        "refunded": ("refunded", "refunded amount", "refund amount", "退款金额", "已退款金额"),
        "sku": (
            "sku",
            "stock code",
            "product code",
            "item code",
            "product id",
            "item id",
            "商品编码",
            "商品编号",
            "货号",
            "sku编码",
            "商品id",
            "商家编码",
            "规格编码",
        ),
        "description": (
            "product",
            "product name",
            "item",
            "item name",
            "description",
            "商品",
            "商品名称",
            "产品",
            "产品名称",
            "宝贝标题",
            "品名",
            "商品标题",
            "商品名",
        ),
        "quantity": (
            "quantity",
            "qty",
            "units",
            "number of items",
            "数量",
            "购买数量",
            "件数",
            "宝贝总数量",
            "商品数量",
            "订购数量",
            "宝贝数量",
        ),
        "unit_price": (
            "unit price",
            "price",
            "item price",
            "单价",
            "价格",
            "商品单价",
            "商品价格",
            "京东价",
        ),
        "line_amount": ("line total", "line amount", "item total", "小计", "商品金额", "商品总价"),
        "channel": ("channel", "sales channel", "渠道", "销售渠道", "订单来源"),
        "cancelled_at": ("cancelled at", "canceled at", "取消时间", "订单关闭时间"),
    },
    "subscriptions": {
        **_CONTACT,
        "subscription_id": ("subscription id", "subscription", "订阅编号", "订阅id", "订阅号"),
        "plan": (
            "plan",
            "plan name",
            "product",
            "package",
            "contract",
            "contract type",
            "套餐",
            "方案",
            "订阅计划",
            "计划",
            "合约类型",
        ),
        "price": (
            "price",
            "amount",
            "fee",
            "monthly charges",
            "monthly charge",
            "monthly fee",
            "monthly price",
            "价格",
            "金额",
            "费用",
            "月费",
            "月租",
        ),
        "quantity": ("quantity", "qty", "seats", "数量"),
        "currency": ("currency", "币种", "货币"),
        "interval": (
            "interval",
            "billing interval",
            "billing period",
            "period",
            "周期",
            "计费周期",
            "付费周期",
        ),
        "status": ("status", "状态", "订阅状态"),
        "started_at": (
            "start",
            "start date",
            "started",
            "started at",
            "created",
            "created at",
            "subscribed at",
            "开始时间",
            "开始日期",
            "订阅时间",
            "订阅日期",
        ),
        "cancelled_at": (
            "canceled at",
            "cancelled at",
            "cancel date",
            "cancellation date",
            "ended at",
            "end date",
            "取消时间",
            "取消日期",
            "结束时间",
            "退订时间",
        ),
        "cancel_reason": (
            "cancel reason",
            "cancellation reason",
            "churn reason",
            "reason",
            "取消原因",
            "退订原因",
        ),
        # A snapshot of the book (the Telco layout): months subscribed instead of a start date,
        # and whether the subscriber left instead of a status (formats/snapshot.py).
        "tenure": (
            "tenure",
            "tenure months",
            "tenure in months",
            "months subscribed",
            "months active",
            "subscription months",
            "在网时长",
            "在网月数",
            "订阅月数",
            "使用月数",
        ),
        "churned": (
            "churn",
            "churned",
            "has churned",
            "is churned",
            "churn flag",
            "exited",
            "attrition",
            "cancelled",
            "canceled",
            "是否流失",
            "流失",
            "是否退订",
        ),
    },
    "interactions": {
        **_CONTACT,
        "channel": ("channel", "type", "medium", "渠道", "方式", "类型", "沟通方式"),
        "direction": ("direction", "方向"),
        "subject": ("subject", "title", "topic", "主题", "标题"),
        "body": (
            "body",
            "content",
            "message",
            "text",
            "notes",
            "note",
            "summary",
            "内容",
            "正文",
            "记录",
            "沟通内容",
            "备注",
        ),
        "occurred_at": (
            "date",
            "time",
            "occurred at",
            "timestamp",
            "when",
            "date time",
            "时间",
            "日期",
            "沟通时间",
        ),
    },
    "feedback": {
        **_CONTACT,
        "feedback_id": (
            "feedback id",
            "review id",
            "response id",
            "answer id",
            "survey response id",
            "评价id",
            "评价编号",
            "反馈编号",
            "反馈id",
        ),
        "order_id": ("order id", "order no", "order number", "订单号", "订单编号", "订单id"),
        "survey": ("survey", "survey type", "kind", "type", "问卷", "问卷类型", "类型"),
        "score": ("score", "nps", "csat", "ces", "评分", "分数", "得分"),
        "rating": ("rating", "stars", "star rating", "review rating", "星级", "星数"),
        "title": ("title", "review title", "标题"),
        "comment": (
            "comment",
            "comments",
            "feedback",
            "review",
            "review text",
            "text",
            "body",
            "评论",
            "评价",
            "评价内容",
            "内容",
            "意见",
            "留言",
        ),
        "language": ("language", "lang", "语言"),
        "responded_at": (
            "date",
            "responded at",
            "submitted at",
            "created at",
            "time",
            "review date",
            "时间",
            "日期",
            "提交时间",
            "评价时间",
        ),
        "source": ("source", "platform", "来源", "平台"),
    },
}

# The fields that say who a row is about; a row with none of them names nobody.
IDENTITY_FIELDS = ("customer_id", "email", "phone", "name", "first_name", "last_name")
# The customer's own details a file can give (typed by :mod:`soloist.imports.clean.customers`):
# every field of a customers file but the ones that find the customer (the name is both), the
# tags and the first-seen time. They are the domain's ``CUSTOMER_FIELDS`` less the e-mail and
# phone (tests/imports checks it), so a new customer column needs only its synonyms here.
_NOT_DETAILS = ("customer_id", "first_name", "last_name", "email", "phone", "tags", "created_at")
CUSTOMER_DETAILS = tuple(name for name in FIELDS["customers"] if name not in _NOT_DETAILS)

# Interaction channel -> the words that mean it.
CHANNELS = {
    "email": ("email", "e-mail", "mail", "邮件", "电子邮件"),
    "call": ("call", "phone", "phone call", "telephone", "电话", "通话", "来电"),
    "meeting": ("meeting", "visit", "会议", "面谈", "拜访", "见面"),
    "chat": ("chat", "wechat", "whatsapp", "im", "live chat", "微信", "聊天", "在线客服"),
    "social": ("social", "twitter", "facebook", "instagram", "weibo", "微博", "社交"),
    "note": ("note", "memo", "备注", "笔记"),
}
CHANNEL_SYNONYMS = {w.replace(" ", "_"): c for c, words in CHANNELS.items() for w in words}
# Interaction direction -> the words that mean it.
DIRECTIONS = {
    "inbound": ("inbound", "in", "incoming", "received", "收到", "呼入", "来信"),
    "outbound": ("outbound", "out", "outgoing", "sent", "发出", "呼出", "回访"),
    "internal": ("internal", "内部"),
}
DIRECTION_SYNONYMS = {w: d for d, words in DIRECTIONS.items() for w in words}

# Where an export has several columns for one field, the one these names say wins, wherever it
# stands: what the buyer actually paid over the list total (Taobao's 总金额 beside
# 买家实际支付金额), when the order was placed over when it was paid, a mobile over a landline.
PREFERRED: dict[str, tuple[str, ...]] = {
    "total": ("买家实际支付金额", "实付金额", "实付款", "订单实付金额", "用户实付金额", "实收金额"),
    "ordered_at": ("订单创建时间", "下单时间", "创建时间", "订单时间", "下单日期"),
    "phone": ("联系手机", "手机", "手机号", "手机号码", "收货人手机号", "收件人手机号"),
}

_PUNCTUATION = re.compile(r"[\s_\-.#()（）:：/]+")
# A unit after a column name, as Chinese exports write it: 实付金额(元), 商品数量（件）.
_UNIT = re.compile(r"[(（]\s*(?:元|件|个|人民币|rmb|cny|¥|￥)\s*[)）]\s*$")


def header_key(name: str) -> str:
    """``Customer ID`` → ``customerid``; ``客户 名称`` → ``客户名称``; ``实付金额(元)`` →
    ``实付金额``."""
    text = unicodedata.normalize("NFKC", name).strip().lower().lstrip("\ufeff")
    return _PUNCTUATION.sub("", _UNIT.sub("", text))


_INDEX: dict[str, dict[str, str]] = {
    kind: {header_key(synonym): field for field, names in fields.items() for synonym in names}
    for kind, fields in FIELDS.items()
}
# The field names themselves are synonyms too (order_id, unit_price …).
for _kind, _fields in FIELDS.items():
    for _field in _fields:
        _INDEX[_kind].setdefault(header_key(_field), _field)


def field_for(kind: str, column: str) -> str | None:
    return _INDEX[kind].get(header_key(column))


_PREFERRED_KEYS = {field: {header_key(n) for n in names} for field, names in PREFERRED.items()}


def map_by_synonyms(kind: str, header: list[str]) -> dict[str, int]:
    """``{field: column index}``; when two columns mean one field, the first one wins — unless
    a later one has a :data:`PREFERRED` name."""
    mapping: dict[str, int] = {}
    strong: set[str] = set()
    for index, column in enumerate(header):
        field = field_for(kind, column)
        if field is None or field in strong:
            continue
        preferred = header_key(column) in _PREFERRED_KEYS.get(field, ())
        if field not in mapping or preferred:
            mapping[field] = index
        if preferred:
            strong.add(field)
    return mapping
