"""Vocabulary of the demo business: a one-person specialty-coffee shop with a subscription."""

from __future__ import annotations

BUSINESS_NAME = "Little Lantern Coffee"

# sku, name, category, price, cost
PRODUCTS: list[tuple[str, str, str, str, str]] = [
    ("BEAN-ETH-250", "Ethiopia Yirgacheffe beans 250 g", "Coffee beans", "14.50", "6.10"),
    ("BEAN-COL-250", "Colombia Huila beans 250 g", "Coffee beans", "12.90", "5.20"),
    ("BEAN-KEN-250", "Kenya AA beans 250 g", "Coffee beans", "16.00", "7.30"),
    ("BEAN-YUN-250", "Yunnan Pu'er honey process 250 g", "Coffee beans", "15.50", "6.80"),
    ("BEAN-BRA-1K", "Brazil Cerrado beans 1 kg", "Coffee beans", "34.00", "15.50"),
    ("BEAN-DEC-250", "Swiss-water decaf 250 g", "Coffee beans", "13.50", "6.00"),
    ("BEAN-ESP-500", "House espresso blend 500 g", "Coffee beans", "22.00", "9.40"),
    ("BEAN-GEI-100", "Panama Geisha 100 g", "Coffee beans", "29.00", "17.00"),
    ("TEA-LJ-100", "Longjing green tea 100 g", "Tea", "18.00", "7.50"),
    ("TEA-DHP-100", "Da Hong Pao oolong 100 g", "Tea", "21.00", "9.00"),
    ("TEA-EG-100", "Earl Grey loose leaf 100 g", "Tea", "9.50", "3.80"),
    ("TEA-CHAI-200", "Masala chai blend 200 g", "Tea", "11.00", "4.20"),
    ("GEAR-V60", "Ceramic V60 dripper", "Brewing gear", "24.00", "10.00"),
    ("GEAR-KETTLE", "Gooseneck kettle 0.9 l", "Brewing gear", "58.00", "27.00"),
    ("GEAR-GRINDER", "Hand grinder, steel burrs", "Brewing gear", "89.00", "44.00"),
    ("GEAR-SCALE", "Brewing scale with timer", "Brewing gear", "39.00", "17.50"),
    ("GEAR-AERO", "AeroPress coffee maker", "Brewing gear", "42.00", "24.00"),
    ("GEAR-MOKA", "Moka pot, 6 cups", "Brewing gear", "36.00", "15.00"),
    ("ACC-FILTER", "Paper filters, 100 pack", "Accessories", "6.50", "1.90"),
    ("ACC-MUG", "Stoneware mug", "Accessories", "16.00", "6.20"),
    ("ACC-TIN", "Airtight storage tin", "Accessories", "19.00", "7.40"),
    ("ACC-TOTE", "Canvas tote bag", "Accessories", "12.00", "3.50"),
    ("GIFT-25", "Gift card 25", "Gift cards", "25.00", "25.00"),
    ("GIFT-50", "Gift card 50", "Gift cards", "50.00", "50.00"),
    ("WS-HOME", "Online home-brewing workshop", "Workshops", "45.00", "8.00"),
    ("WS-CUP", "Cupping evening (2 people)", "Workshops", "70.00", "20.00"),
]
CATEGORIES = sorted({category for _, _, category, _, _ in PRODUCTS})

SUBSCRIPTION_PLANS: list[tuple[str, str]] = [
    ("Beans of the month", "19.00"),
    ("Beans of the month — double", "34.00"),
    ("Tea club", "15.00"),
]
CANCEL_REASONS = [
    "too expensive",
    "drinking less coffee",
    "moving abroad",
    "prefer to buy one-off",
    "delivery problems",
    "found another roaster",
]

FIRST_NAMES_EN = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Oliver",
    "Sophia",
    "Elijah",
    "Mia",
    "James",
    "Amelia",
    "Lucas",
    "Harper",
    "Mateo",
    "Evelyn",
    "Henry",
    "Isla",
    "Jack",
    "Chloe",
    "Leo",
    "Grace",
    "Samuel",
    "Zoe",
    "Daniel",
    "Nora",
    "Arthur",
    "Freya",
    "Oscar",
    "Ruby",
    "Theo",
]
LAST_NAMES_EN = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Taylor",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Evans",
]
SURNAMES_ZH = [
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "黄",
    "赵",
    "吴",
    "周",
    "徐",
    "孙",
    "马",
    "朱",
    "胡",
    "林",
]
GIVEN_NAMES_ZH = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "华",
    "慧",
    "建华",
    "晓东",
    "雪",
    "婷",
    "子涵",
    "浩然",
    "欣怡",
    "梓萱",
]
PINYIN = {
    "王": "wang",
    "李": "li",
    "张": "zhang",
    "刘": "liu",
    "陈": "chen",
    "杨": "yang",
    "黄": "huang",
    "赵": "zhao",
    "吴": "wu",
    "周": "zhou",
    "徐": "xu",
    "孙": "sun",
    "马": "ma",
    "朱": "zhu",
    "胡": "hu",
    "林": "lin",
}
STREETS_EN = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Park Avenue",
    "Elm Street",
]
STREETS_ZH = ["人民路", "中山路", "解放路", "建设路", "南京路", "长江路"]
CITIES = {
    "GB": ["London", "Leeds", "Bristol", "Edinburgh", "Manchester"],
    "US": ["Portland", "Austin", "Denver", "Boston", "Seattle"],
    "DE": ["Berlin", "Hamburg", "Munich", "Leipzig"],
    "CN": ["上海", "北京", "杭州", "成都", "深圳", "广州"],
    "SG": ["Singapore"],
}
# country, weight, calling-code prefix template
COUNTRIES: list[tuple[str, float]] = [
    ("GB", 0.34),
    ("US", 0.2),
    ("DE", 0.1),
    ("CN", 0.3),
    ("SG", 0.06),
]
CHANNELS = ["web", "web", "web", "instagram", "market stall", "wechat"]

REVIEWS_EN = {
    5: [
        "Wonderful beans, fruity and clean. Arrived two days after roasting.",
        "Best coffee I have had at home. Will order again!",
        "Lovely packaging and a handwritten note. Great service.",
    ],
    4: [
        "Very good coffee, a little pricey but worth it.",
        "Tasty and fresh. Delivery took a bit longer than expected.",
    ],
    3: ["Decent, but not as bright as I hoped.", "OK coffee. The grind setting advice helped."],
    2: ["Beans tasted stale, roast date was three weeks old.", "The kettle lid is loose."],
    1: [
        "Parcel arrived damaged and support was slow to answer.",
        "Wrong item sent, very disappointed.",
    ],
}
REVIEWS_ZH = {
    5: [
        "咖啡豆非常新鲜，果香明显，包装也很用心！",
        "品质很好，客服回复很快，会回购。",
        "口感干净，酸甜平衡，推荐。",
    ],
    4: ["味道不错，就是价格稍微有点高。", "整体满意，物流慢了一点。"],
    3: ["一般般，没有想象中香。", "还可以，研磨建议挺有帮助。"],
    2: ["豆子不够新鲜，烘焙日期太早。", "水壶盖子有点松。"],
    1: ["包裹破损，客服很久才回复。", "发错货了，非常失望。"],
}
NPS_COMMENTS_EN = {
    "promoter": ["Love the monthly surprise beans.", "Friendly, personal service."],
    "passive": ["Good coffee, shipping could be cheaper.", "Fine, nothing special."],
    "detractor": ["Too expensive for what it is.", "Orders keep arriving late."],
}
NPS_COMMENTS_ZH = {
    "promoter": ["每个月的惊喜豆子太棒了。", "服务很贴心。"],
    "passive": ["咖啡不错，运费可以再便宜点。", "还行吧。"],
    "detractor": ["性价比不高。", "经常延迟发货。"],
}
TICKET_SUBJECTS_EN = [
    ("Where is my order?", "shipping"),
    ("Grinder makes a squeaking noise", "product"),
    ("Change my subscription address", "subscription"),
    ("Refund for damaged parcel", "refund"),
    ("Which beans for espresso?", "advice"),
]
TICKET_SUBJECTS_ZH = [
    ("我的订单到哪里了？", "shipping"),
    ("磨豆机有异响", "product"),
    ("修改订阅地址", "subscription"),
    ("包裹破损申请退款", "refund"),
    ("意式浓缩用哪款豆子？", "advice"),
]
INTERACTION_NOTES = [
    ("email", "Sent brewing guide"),
    ("chat", "Asked about decaf options"),
    ("call", "Wholesale enquiry for an office"),
    ("social", "Shared our post on Instagram"),
    ("note", "Prefers light roasts"),
    ("meeting", "Met at the weekend market"),
]
