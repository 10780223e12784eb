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

# --- the service desk: what customers write and what the owner answers, by ticket category ---
TICKET_OPENINGS_EN: dict[str, list[str]] = {
    "shipping": [
        "Hi, I ordered last week and the tracking has not moved for four days. "
        "Could you check where my parcel is?",
        "My order still has not arrived and I wanted the beans for the weekend. Any news?",
    ],
    "product": [
        "The hand grinder started squeaking after two weeks of use. Is something loose?",
        "The lid of my gooseneck kettle does not close properly any more. What can I do?",
    ],
    "subscription": [
        "I am moving next month. Can you send my beans of the month to my new address?",
        "Could I skip next month's delivery? I am away for three weeks.",
    ],
    "refund": [
        "The parcel arrived crushed and one bag of beans was split open. "
        "Photos attached. I would like a refund for that bag.",
        "I was charged twice for the same order. Could you refund the second payment?",
    ],
    "advice": [
        "I just bought an espresso machine. Which of your beans would you recommend?",
        "What grind setting should I use for the AeroPress with the Kenya beans?",
    ],
}
TICKET_OPENINGS_ZH: dict[str, list[str]] = {
    "shipping": [
        "你好，我上周下的单，物流四天没有更新了，能帮我查一下吗？",
        "订单还没到，周末想用，有消息吗？",
    ],
    "product": ["手摇磨豆机用了两周就有异响，是不是哪里松了？", "手冲壶的盖子盖不紧了，怎么办？"],
    "subscription": [
        "我下个月搬家，每月咖啡豆可以寄到新地址吗？",
        "下个月的订阅可以暂停一次吗？我出差三周。",
    ],
    "refund": [
        "包裹压坏了，有一袋豆子破了，照片已附上，想退这一袋的钱。",
        "同一个订单被扣了两次款，能退回第二笔吗？",
    ],
    "advice": ["刚买了意式咖啡机，推荐哪款豆子？", "用爱乐压冲肯尼亚豆子，研磨度应该调多少？"],
}
STAFF_FIRST_REPLIES_EN: dict[str, list[str]] = {
    "shipping": [
        "Sorry for the wait! I have asked the courier to trace the parcel and will let you "
        "know as soon as I hear back.",
    ],
    "product": [
        "Thanks for telling me. Could you send a short video of the noise? Usually the burr "
        "nut just needs tightening, but I want to be sure.",
    ],
    "subscription": [
        "Of course. Could you reply with the new address and the date you move? I will "
        "change it before the next roast.",
    ],
    "refund": [
        "I am so sorry about that. Could you confirm the order number so I can refund it "
        "to your card straight away?",
    ],
    "advice": [
        "Great choice! For espresso I would start with the house blend or the Brazil "
        "Cerrado: chocolatey and forgiving. Want a grind guide as well?",
    ],
}
STAFF_FIRST_REPLIES_ZH: dict[str, list[str]] = {
    "shipping": ["抱歉久等了！我已经联系快递查件，有消息马上告诉您。"],
    "product": ["谢谢反馈。方便拍一段异响的视频吗？通常拧紧刀盘螺母就好，我想确认一下。"],
    "subscription": ["没问题。请回复新地址和搬家日期，我会在下次烘焙前改好。"],
    "refund": ["非常抱歉！请确认一下订单号，我马上原路退款。"],
    "advice": ["好选择！做意式建议先试招牌拼配或巴西喜拉多，巧克力风味，容错高。需要研磨指南吗？"],
}
STAFF_FOLLOW_UPS_EN = [
    "Thanks for the details. I have sent a replacement today; it should arrive in two days.",
    "Got it, thank you. I have made the change; let me know if anything else comes up.",
    "Thanks! That helps. I will check with the supplier and get back to you tomorrow.",
]
STAFF_FOLLOW_UPS_ZH = [
    "谢谢提供信息，今天已补发，两天内到。",
    "收到，谢谢！已经改好了，有其他问题随时联系。",
    "谢谢！我跟供应商确认一下，明天回复您。",
]
STAFF_RESOLUTIONS_EN = [
    "All sorted: the refund is on its way and should show in 3–5 days. Enjoy your coffee!",
    "Done! I will close this ticket now; just reply if anything else comes up.",
    "Glad that worked. I am marking this as solved. Happy brewing!",
]
STAFF_RESOLUTIONS_ZH = [
    "已处理好：退款已发出，3到5天到账。祝您喝得开心！",
    "好了！这个问题先关闭，有任何问题直接回复就行。",
    "太好了，问题解决了。祝冲煮愉快！",
]
CUSTOMER_FOLLOW_UPS_EN = [
    "Here is the photo of the box and the order number.",
    "Still nothing arrived today, unfortunately.",
    "Thanks! The new address is 12 Mill Road, from the 1st.",
    "I tried that, but it still makes the noise.",
]
CUSTOMER_FOLLOW_UPS_ZH = [
    "这是包裹的照片和订单号。",
    "今天还是没收到。",
    "谢谢！新地址是人民路88号，下个月1号开始。",
    "试过了，还是有声音。",
]
CUSTOMER_THANKS_EN = ["Thank you, that was quick!", "Perfect, thanks a lot."]
CUSTOMER_THANKS_ZH = ["谢谢，回复好快！", "太好了，非常感谢。"]
DUPLICATE_NOTE_EN = "Sending this again in case my first e-mail got lost."
DUPLICATE_NOTE_ZH = "怕上一封邮件没收到，再发一次。"
INTERNAL_NOTES = [
    "Courier claim opened; reference in the shared drive.",
    "Second complaint from this customer this year: offer a discount code.",
    "Checked the roast log: this batch was fine, probably a storage issue.",
    "Asked the supplier about spare lids.",
]

# title, language, body: Jinja2 over the ticket's customer and ticket (see service/canned.py)
CANNED_REPLIES: list[tuple[str, str, str]] = [
    (
        "Shipping delay",
        "en",
        "Hi {{ customer.first_name }},\n\nsorry your parcel is late. I have asked the courier "
        "to trace it and will update you on ticket #{{ ticket.id }} as soon as I hear back.\n\n"
        "Best wishes,\nLittle Lantern Coffee",
    ),
    (
        "Refund on its way",
        "en",
        "Hi {{ customer.first_name }},\n\nyour refund is on its way and should show on your "
        "statement within 3–5 working days (ticket #{{ ticket.id }}).\n\nBest wishes,\n"
        "Little Lantern Coffee",
    ),
    (
        "How to brew",
        "en",
        "Hi {{ customer.first_name }},\n\nfor a V60 start with 15 g of coffee, medium-fine, "
        "and 250 g of water at 94 °C; pour in three stages over about three minutes. Tell me "
        "how it tastes in a reply to ticket #{{ ticket.id }} and we can adjust the grind.\n\n"
        "Happy brewing,\nLittle Lantern Coffee",
    ),
    (
        "Subscription address changed",
        "en",
        "Hi {{ customer.first_name }},\n\ndone: your next delivery goes to the new address. "
        "Reply to ticket #{{ ticket.id }} if anything else changes.\n\nLittle Lantern Coffee",
    ),
    (
        "发货延迟",
        "zh",
        "{{ customer.first_name }}您好：\n\n很抱歉包裹延迟了。我已联系快递查件，有消息会在工单 "
        "#{{ ticket.id }} 中第一时间告诉您。\n\n小灯笼咖啡",
    ),
    (
        "退款处理中",
        "zh",
        "{{ customer.first_name }}您好：\n\n退款已经提交，3到5个工作日内原路退回（工单 "
        "#{{ ticket.id }}）。\n\n小灯笼咖啡",
    ),
]

# --- the sales pipeline: deals (title, lowest and highest value in the workspace currency) ---
DEAL_NAMES_EN: list[tuple[str, int, int]] = [
    ("Wholesale order for 40 bags", 400, 900),
    ("Office coffee subscription", 1200, 4800),
    ("Café beans supply 2027", 6000, 20000),
    ("Corporate gift boxes for 120 staff", 2500, 6000),
    ("Hotel breakfast coffee contract", 4000, 15000),
    ("Co-working space beans and gear", 1500, 5000),
    ("Wedding favours: 80 mini bags", 300, 700),
    ("Barista workshop for a team", 600, 1500),
    ("Restaurant espresso blend, monthly", 2000, 7000),
    ("Grinders and kettles for a bakery", 800, 2400),
]
DEAL_NAMES_ZH: list[tuple[str, int, int]] = [
    ("节日礼盒团购", 800, 3000),
    ("办公室咖啡订阅", 1200, 4800),
    ("咖啡馆年度供豆", 6000, 20000),
    ("企业年会伴手礼", 2000, 6000),
    ("茶饮店乌龙茶批发", 1000, 4000),
]
WON_REASONS = [
    "loved the samples",
    "best price for the volume",
    "fresh roasting every week",
    "recommended by another café",
]
WON_REASONS_ZH = ["试喝后很满意", "量大价格合适", "每周新鲜烘焙", "朋友的咖啡馆推荐"]
LOST_REASONS = [
    "chose a cheaper supplier",
    "budget cut",
    "no reply",
    "needed delivery we cannot do",
    "went with their old roaster",
]
LOST_REASONS_ZH = ["选了更便宜的供应商", "预算削减", "没有回复", "配送要求做不到"]

# --- tasks the owner wrote for herself: by what they are linked to ---
TASK_TITLES_CUSTOMER = [
    "Call back about the grinder",
    "Send samples of the new Kenya lot",
    "Post the replacement filters",
    "Thank-you note for the big order",
    "Ask for a review of the workshop",
    "Check the wholesale price list",
]
TASK_TITLES_DEAL = [
    "Follow up on the quote",
    "Send the contract",
    "Book a tasting at their office",
    "Prepare samples for the café",
    "Call about the delivery schedule",
]
TASK_TITLES_TICKET = [
    "Chase the courier claim",
    "Order a spare kettle lid",
    "Refund the damaged bag",
]
