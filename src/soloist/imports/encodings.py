"""Which text encoding a file is in: the ones Soloist reads, and a clear refusal for the others.

A file is read as UTF-8 (with or without BOM), UTF-16 with a BOM, GB18030 (a superset of GBK and
GB2312, what Chinese Excel writes) or Windows-1252 (Western European Excel). The last two decode
almost any bytes, so a file in another legacy encoding — Japanese Shift-JIS, Korean EUC-KR,
Russian KOI8-R or Windows-1251 — used to come in as mojibake. Each candidate is now accepted only
when the text it gives is plausible:

- as GB18030, unless another reading explains the bytes better: Shift-JIS read as GBK gives
  almost no character of GB2312 (the 7,445 characters of everyday Simplified Chinese), since
  its kana and common kanji fall in GBK's extension rows, so a text that does and reads as
  Japanese (kana among Japanese script) is not Chinese. Korean EUC-KR is harder — its syllables
  sit exactly where GB2312 keeps its first-level characters — so a text that reads as Korean
  (nearly all Hangul syllables) *and* gives few of the commonest Chinese characters
  (:data:`COMMON_HANZI`) is not taken for Chinese;
- as Windows-1252, when its accented letters sit inside words of plain letters (``Müller``,
  ``São Paulo``): Cyrillic or Korean read this way gives words made of nothing else.

A text that passes neither is refused, with the encoding it most likely is named. Too little
non-ASCII text to judge reads as before. Only the start of the file (:data:`SAMPLE_BYTES`) is
examined, unless it holds too little to judge.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from soloist.imports.raw import MIB, refuse

ENCODINGS = ("utf-8", "gb18030", "cp1252")
SAMPLE_BYTES = MIB
# A text needs this many non-ASCII characters before GB18030 can be ruled out, and this many
# non-ASCII letters inside words before Windows-1252 can.
MIN_CHINESE_EVIDENCE = 4
MIN_WESTERN_EVIDENCE = 8
# At most this share of a Chinese text's non-ASCII characters lies outside GB2312 (traditional
# or rare characters); real GBK files stay well under it, Shift-JIS read as GBK well over it.
MIN_GB2312_SHARE = 0.3
# In Western text, accented letters are a minority of the letters of the words holding them.
MAX_ACCENTED_SHARE = 0.6
SAVE_AS_UTF8 = (
    "Save the file as UTF-8 (in Excel: Save As → “CSV UTF-8 (Comma delimited)”) and import it "
    "again."
)

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ACCENTED_WORD = re.compile(r"[^\W\d_]*[^\x00-\x7f\W\d_][^\W\d_]*")


def _hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3" or "\u3130" <= ch <= "\u318f"


def _kana(ch: str) -> bool:
    return "\u3040" <= ch <= "\u30ff"


def _japanese(ch: str) -> bool:
    # Kana, kanji, CJK punctuation and full-width forms — not half-width katakana, which is
    # what Chinese or Korean bytes mostly turn into when read as Shift-JIS.
    return "\u3000" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or "\uff01" <= ch <= "\uff60"


def _cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


# (language, encoding as people call it, Python codec, the script its text is written in).
GUESSES: tuple[tuple[str, str, str, Callable[[str], bool]], ...] = (
    ("Japanese", "Shift-JIS", "cp932", _japanese),
    ("Korean", "EUC-KR", "cp949", _hangul),
    ("Russian", "KOI8-R", "koi8_r", _cyrillic),
    ("Russian", "Windows-1251", "cp1251", _cyrillic),
)
# A text reads as its script when at least this share of its non-ASCII characters is in it.
SCRIPT_SHARE = 0.9
KOREAN_MIN_SYLLABLES = 6
# The commonest Chinese characters: the 800 most frequent in two public corpora of Chinese
# reviews (waimai_10k and ChnSentiCorp-hotel, 2 million characters), with the commonest
# surnames, given-name characters and the words of shop exports (addresses, statuses,
# products). Chinese text is mostly made of them (a Taobao order export, 96%); Korean read as
# GBK about a quarter, as any random run of GB2312's first level is.
MAX_KOREAN_COMMON_SHARE = 0.45
COMMON_HANZI = frozenset(
    "的不是了一有很我店好房酒间到也就还在服住送餐人务大上都以吃小个要这没可点太次比来"
    "下多错们时去但道说度家差能感和前过地天价较味早入方沒常還面點出得客后觉非然打時子"
    "会里员便台個快只外水电用菜对星看为晚中果理分意车定再他么最设如行位楼而真那才门生"
    "程开心其本格宾所般给床日少什通且來费慢施等肉這话馆麼提特知总携高第錯自实月算你飯"
    "环想年半您样因问全元口之经境于三給近机置速接些级当已西海进发评二路品离吧候直别說"
    "情体挺现订网量又干两厅该望让标超回明安热着走边修饭态新啊洗景卫旧整事装四交结商净"
    "更内无空周音包老单合相准满同值起加市几工做怎免收被调作裡浴应种气餅选性十放完過预"
    "手後反场訂建公居話舒找把件兩像米配五每正钟带隔單退贵成换从友此電賣待份推涼法部足"
    "头己員重香硬山難受站游谢见东议改题清堂根窗別国关层喜告美华求套及間区色花择象视辣"
    "希虽竟适冷充处豆另午卡拿管风远物解雞跟办期百钱补动睡原會取供信声叫朋先豪需马油卷"
    "确温由態街粥户主評并静保消宽荐质连号呵力務光排够鐘南难樣平业金优停宜备牛失呢旅湯"
    "室吵蛋夜實欢与帮馈死条长城简表火料基式白哥為强偏听州們步假士极临身票将系陈张乎裝"
    "名除至各稍园北覺皮围助喝附今惠拉梯盒食她江醬它毛诉按倒租經向计字达謝湖脏巾著容久"
    "何贊示具距澡塊显靠片缺或司注棒微東讓续苦絲哈唯班李节阳刚錢广决任買坐價低港掉茶付"
    "衣姐啦认嗎始际京結查线记却遞越考利升使泳致绝往無牌招块發洁观黑幾沙政丰池旁冰哪留"
    "首淋况帐土炒者滿肯熱袋怪答左化型效搞脑铁辛似泉女富请笑亮饮煎級歉鹹闹玩忘椒细万醒"
    "壁毯双照烟素否段右弄响忙灯流买灑息论咖奇必開尤泡深問投乐联師傅兒敢坏板虑类麻遇印"
    "转龙普休影刷易持代催目购廊啡礼思股哦试赶千积破扫達巴肥诚支孩青尽专拌儿長未貨奶令"
    "落规夠杯淡约即忍氣活齐许切童現暖眼木楚据言宝對垃圾导估登墙腐岛底敞挂餓复熟爽写糕"
    "器魚布晨蛮善紧济雨桌迎亲馨箱肘民歡角粉折酸共数飞八乱貌頭烈享較软帶呀條银协维吗騎"
    "王刘杨黄赵吴徐孙朱胡郭林罗郑梁宋唐韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶苏魏吕丁沈姚卢"
    "姜崔谭陆汪范石廖贾夏韦邹孟熊秦邱尹薛闫雷侯史陶黎贺顾郝龚邵严覃武戴莫孔汤伟芳娜秀"
    "英敏丽磊军洋勇艳杰娟涛兰霞桂志红玉文辉鹏斌宇浩凯婷雪琳晶慧颖倩欣怡佳丹宁峰波燕梅"
    "萍玲芬云编码称姓邮额状货址昵款功闭省县镇圳杭汉津庆朝浦浙裙鞋壳耳膜纸零币券运扣渠"
    "铺淘猫拼赞"
)


@lru_cache(maxsize=65_536)
def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _head(data: bytes) -> bytes:
    """The first :data:`SAMPLE_BYTES` of ``data``, cut after a line break (no legacy encoding
    uses byte 0x0A inside a character, so the cut splits none)."""
    if len(data) <= SAMPLE_BYTES:
        return data
    end = data.rfind(b"\n", 0, SAMPLE_BYTES)
    return data[: end + 1] if end > 0 else data[:SAMPLE_BYTES]


def _non_ascii(text: str) -> Counter[str]:
    return Counter("".join(_NON_ASCII.findall(text)))


def _read_as(data: bytes, codec: str) -> Counter[str] | None:
    """The non-ASCII characters of the start of ``data`` read in ``codec`` (None: it is not)."""
    try:
        return _non_ascii(_head(data).decode(codec))
    except UnicodeDecodeError:
        return None


def _share(counts: Counter[str], script: Callable[[str], bool]) -> float:
    total = sum(counts.values())
    return sum(n for ch, n in counts.items() if script(ch)) / total if total else 0.0


def _han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def reads_as_korean(data: bytes, chinese: Counter[str]) -> bool:
    """Whether ``data`` reads as Korean (CP949, the superset of EUC-KR that Korean Excel
    writes) rather than as the Chinese it gives in GB18030 (``chinese``, its non-ASCII
    characters): enough distinct characters, nearly all Hangul syllables, and few of the
    Chinese characters common ones."""
    counts = _read_as(data, "cp949")
    if counts is None or len(counts) < KOREAN_MIN_SYLLABLES:
        return False
    if sum(map(_hangul, counts)) < SCRIPT_SHARE * len(counts):
        return False
    han = Counter({ch: n for ch, n in chinese.items() if _han(ch)})
    return _share(han, COMMON_HANZI.__contains__) < MAX_KOREAN_COMMON_SHARE


def reads_as_japanese(data: bytes) -> bool:
    """Whether ``data`` reads as Japanese in Shift-JIS: kana among nearly all Japanese script."""
    counts = _read_as(data, "cp932")
    if not counts:
        return False
    return _share(counts, _japanese) >= SCRIPT_SHARE and _share(counts, _kana) > 0


def reads_as_chinese(data: bytes, text: str) -> bool:
    """Whether ``text``, ``data`` read as GB18030, is plausibly Chinese (see the module): it is
    unless another reading explains it better."""
    large = len(data) > SAMPLE_BYTES
    counts = _non_ascii(_head(data).decode("gb18030") if large else text)
    if sum(counts.values()) < MIN_CHINESE_EVIDENCE and large:
        counts = _non_ascii(text)
    if sum(counts.values()) < MIN_CHINESE_EVIDENCE:
        return True
    if _share(counts, _in_gb2312) < MIN_GB2312_SHARE and reads_as_japanese(data):
        return False
    return not reads_as_korean(data, counts)


def _accented(text: str) -> tuple[int, int]:
    """(non-ASCII letters, all letters) of the words of ``text`` that hold a non-ASCII letter."""
    accented = letters = 0
    for word in _ACCENTED_WORD.findall(text):
        if len(word) < 2:
            continue  # "à", "é", "ó": whole words of one accented letter in French, Portuguese
        accented += sum(1 for ch in word if ord(ch) > 127)
        letters += len(word)
    return accented, letters


def reads_as_western(text: str) -> bool:
    """Whether ``text`` (read as Windows-1252) is plausibly Western European (see the module)."""
    accented, letters = _accented(text[:SAMPLE_BYTES])
    if accented < MIN_WESTERN_EVIDENCE and len(text) > SAMPLE_BYTES:
        accented, letters = _accented(text)
    return accented < MIN_WESTERN_EVIDENCE or accented <= MAX_ACCENTED_SHARE * letters


def guess_encoding(data: bytes) -> tuple[str, str] | None:
    """(language, encoding) that ``data`` most plausibly is in, among :data:`GUESSES`; None
    when it reads as none of their scripts."""
    best: tuple[float, float, str, str] | None = None
    for language, name, codec, script in GUESSES:
        counts = _read_as(data, codec)
        if counts is None or _share(counts, script) < SCRIPT_SHARE:
            continue
        # Both Cyrillic code pages read Russian bytes as Cyrillic letters; the right one gives
        # mostly lower case, the wrong one mostly capitals.
        lower = _share(counts, str.islower) if script is _cyrillic else 1.0
        rank = (_share(counts, script), lower, language, name)
        if best is None or rank[:2] > best[:2]:
            best = rank
    return None if best is None else (best[2], best[3])


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Text and the encoding it was read in: UTF-8 (with or without BOM), UTF-16 with BOM,
    GB18030 or Windows-1252 when the text is plausible in it; any other file is refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise refuse(
                path, f"marked UTF-8 but is not ({exc.reason} at byte {exc.start})"
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise refuse(path, f"marked UTF-16 but is not ({exc.reason})") from None
    if b"\x00" in data[:4096]:
        raise refuse(path, "looks like a binary file, not a text table or .xlsx workbook")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    else:
        if reads_as_chinese(data, text):
            return text, "gb18030"
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        pass
    else:
        if reads_as_western(text):
            return text, "cp1252"
    guess = guess_encoding(data)
    if guess is not None:
        language, name = guess
        raise refuse(
            path,
            f"the text is not UTF-8: it looks like {language} in {name}, an encoding Soloist "
            f"does not read. {SAVE_AS_UTF8}",
        )
    raise refuse(
        path,
        "the text is not UTF-8, and it does not read as Chinese (GBK/GB18030) or Western "
        f"European (Windows-1252) text either. {SAVE_AS_UTF8}",
    )
