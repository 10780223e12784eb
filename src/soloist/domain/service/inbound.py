"""Reading one e-mail into an :class:`~soloist.domain.service.mail.InboundMail`: who sent it,
its subject, its text, its place in a thread, and whether it is a person's mail at all.

The text: the text/plain part, else the HTML part made text (the standard library's parser,
scripts and styles dropped, quoted blocks marked with ``>``); quoted history is cut only where
clearly marked (a trailing block of ``>`` lines with its "On … wrote:" / "在 … 写道：" line, an
"Original Message" separator). Declared charsets are trusted but not blindly, and what cannot
be decoded is replaced: reading a message never fails on its bytes.
"""

from __future__ import annotations

import binascii
import codecs
import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import re
from email.message import Message
from html.parser import HTMLParser

from soloist.domain.service.mail import InboundMail

MAX_BODY_CHARS = 100_000
MAX_REFERENCES = 50
CLOCK_SLACK = dt.timedelta(days=1)


class _RawHeaders(email.policy.Compat32):
    """Compat32, but header values come out as they were stored: every header is decoded here,
    with the charset fallbacks the bodies get (8-bit headers, a GB2312 label on GBK text)."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawHeaders()
_CHARSET_ALIASES = {
    # Chinese mail is often labelled GB2312 but written in GBK (a superset), itself a subset
    # of GB18030; Big5 mail often uses the Hong Kong additions; Latin-1 labels mean Windows-1252
    # (as browsers read them, WHATWG Encoding Standard).
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "euc-cn": "gb18030", "big5": "big5hkscs", "x-big5": "big5hkscs", "cp950": "big5hkscs",
    "iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949",
}  # fmt: skip


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes as text: in the declared charset when it fits, else UTF-8, else GB18030, else
    with the bytes that fit nothing replaced. Never raises."""
    declared = _codec(charset)
    tries = [declared] if declared else []
    tries += [c for c in ("utf-8", "gb18030") if c != declared]
    for codec in tries:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8" and not declared and _misread_chinese(text, data):
            return data.decode("gb18030")
        return text
    return data.decode(declared or "cp1252", errors="replace")


def _is_chinese(char: str) -> bool:
    code = ord(char)
    return (
        code < 0x80
        or 0x3000 <= code <= 0x303F  # CJK punctuation
        or 0x3400 <= code <= 0x9FFF  # CJK ideographs
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
    )


def _misread_chinese(text: str, data: bytes) -> bool:
    """Unlabelled GBK bytes can also be valid UTF-8 (原始 is D4AD CABC, UTF-8 for "ԭʼ"). A
    heuristic: read as UTF-8 they give C1 controls, IPA, modifier letters, Armenian or Syriac
    to NKo (not Greek, Cyrillic, Hebrew or Arabic, which real text is written in), and read as
    GB18030 they give Chinese only."""
    odd = any(
        0x80 <= ord(c) <= 0x9F
        or 0x250 <= ord(c) <= 0x36F
        or 0x530 <= ord(c) <= 0x58F
        or 0x700 <= ord(c) <= 0x7FF
        for c in text
    )
    if not odd:
        return False
    try:
        return all(_is_chinese(c) for c in data.decode("gb18030"))
    except UnicodeDecodeError:
        return False


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def decode_header(value: str | None) -> str:
    """An RFC 2047 header value (encoded words, or raw 8-bit text) as one line of text."""
    if not value:
        return ""
    text = re.sub(r"\r?\n[ \t]*", " ", value)
    if any("\udc80" <= c <= "\udcff" for c in text):  # raw 8-bit bytes (surrogateescape)
        text = decode_text(text.encode("utf-8", "surrogateescape"), None)
    pieces: list[str] = []
    pending: tuple[str, bytearray] | None = None  # adjacent words in one charset join first
    position = 0
    for word in _ENCODED_WORD.finditer(text):
        between = text[position : word.start()]
        if pending is None or between.strip():
            if pending is not None:
                pieces.append(decode_text(bytes(pending[1]), pending[0]))
                pending = None
            pieces.append(between)
        charset, kind, payload = word[1].split("*")[0], word[2].lower(), word[3]
        try:
            if kind == "b":
                data = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
            else:
                data = binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
        except (binascii.Error, ValueError):
            data = word[0].encode("utf-8")
        if pending is not None and pending[0].lower() == charset.lower():
            pending[1].extend(data)
        else:
            if pending is not None:
                pieces.append(decode_text(bytes(pending[1]), pending[0]))
            pending = (charset, bytearray(data))
        position = word.end()
    if pending is not None:
        pieces.append(decode_text(bytes(pending[1]), pending[0]))
    pieces.append(text[position:])
    return " ".join("".join(pieces).split())


def parse_message(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=_POLICY)


def address_of(value: str | None) -> tuple[str, str]:
    """(display name, lower-case address) of an address header; blanks when there is none."""
    if not value:
        return "", ""
    name, address = email.utils.parseaddr(re.sub(r"\r?\n[ \t]*", " ", value))
    return decode_header(name), decode_header(address).strip().lower()


_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def _message_id(value: str | None, raw: bytes) -> str:
    """The Message-ID as stored (``<…>``); a message without one (or with one too long to
    keep) gets one made from a hash, the same each time the message is read."""
    text = decode_header(value)
    found = _MESSAGE_ID.search(text)
    if found and len(found[0]) <= 255:
        return found[0]
    digest = hashlib.sha256(text.encode() if found else raw).hexdigest()[:40]
    return f"<{digest}@soloist.invalid>"


def _references(message: Message) -> tuple[str, ...]:
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        found = _MESSAGE_ID.findall(decode_header(message.get(name)))
        # The newest references are at the end of References: they are the likelier match.
        for ref in found if name == "In-Reply-To" else reversed(found):
            if ref not in ids and len(ref) <= 255:
                ids.append(ref)
    return tuple(ids[:MAX_REFERENCES])


def _received_at(message: Message, arrived_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The Date header, unless it is later than the mail's arrival (INTERNALDATE) or now, or a
    day or more before the arrival (a sender's clock far off): then the arrival, else now."""
    latest = min(arrived_at, now) if arrived_at else now
    try:
        sent = email.utils.parsedate_to_datetime(decode_header(message.get("Date")))
    except (TypeError, ValueError, IndexError):
        return latest
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=dt.UTC)  # "-0000": UTC, origin unknown (RFC 5322, 3.3)
    sent = sent.astimezone(dt.UTC)
    if sent > latest or (arrived_at and sent < arrived_at - CLOCK_SLACK):
        return latest
    return sent


def inbound_mail(
    message: Message,
    raw: bytes,
    now: dt.datetime,
    *,
    arrived_at: dt.datetime | None = None,
    own: frozenset[str] = frozenset(),
) -> InboundMail:
    """The message as the desk files it. Mail that our own address sent on someone's behalf
    (a shop's contact form: From the shop, Reply-To the customer) is the Reply-To's."""
    name, address = address_of(message.get("From"))
    if address in own:
        reply_name, reply_to = address_of(message.get("Reply-To"))
        if reply_to and reply_to not in own:
            name, address = reply_name, reply_to
    subject = decode_header(message.get("Subject"))
    return InboundMail(
        sender_email=address,
        sender_name=name[:200] or None,
        subject=subject,
        body=message_text(message) or subject or "(empty message)",
        message_id=_message_id(message.get("Message-ID"), raw),
        references=_references(message),
        received_at=_received_at(message, arrived_at, now),
    )


def skip_reason(message: Message, mail: InboundMail, own: frozenset[str]) -> str | None:
    """Why a message is not a person's mail to file, or None: automatic replies (RFC 3834),
    bulk mail, bounces, and our own mail coming back."""
    auto = (message.get("Auto-Submitted") or "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return f"an automatic message (Auto-Submitted: {auto})"
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return "an automatic reply"
    precedence = (message.get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"bulk mail (Precedence: {precedence})"
    local = mail.sender_email.partition("@")[0]
    report = message.get_content_type() == "multipart/report"
    if report or local in ("mailer-daemon", "postmaster"):
        return "a delivery report (bounce)"
    if (message.get("Return-Path") or "").strip() == "<>":
        return "a delivery report (empty return path)"
    if not mail.sender_email:
        return "no sender address"
    if mail.sender_email in own:
        return "sent from our own address"
    return None


# -- the text ------------------------------------------------------------------------------------


def _part_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    text = decode_text(data, part.get_content_charset())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def message_text(message: Message) -> str:
    """What the customer wrote: the text, without marked quoted history, cut at
    MAX_BODY_CHARS, with a line naming the attachments (left in the mailbox)."""
    plain: str | None = None
    html: str | None = None
    attachments: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = decode_header(part.get_filename())
        if disposition == "attachment" or (filename and not kind.startswith("text/")):
            attachments.append(filename or kind)
        elif kind == "text/plain" and not (plain or "").strip():
            plain = _part_text(part)
        elif kind == "text/html" and html is None:
            html = _part_text(part)
        elif not kind.startswith(("text/", "message/")):
            attachments.append(kind)
    if not (plain or "").strip():
        plain = html_to_text(html) if html else ""
    text = strip_quoted(plain or "")
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS].rstrip() + "\n[… the rest is in the mailbox]"
    if attachments:
        text += ("\n\n" if text else "") + "[Attachments, in the mailbox: "
        text += ", ".join(attachments[:20]) + "]"
    return text


_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(original message|原始邮件|原始郵件|原邮件|回复的原邮件)\s*-{2,}\s*$", re.I
)
_ATTRIBUTION = re.compile(
    r"^(on\s.+\swrote:|在.+(写道|寫道)\s*[:：]?|於.+寫道\s*[:：]?)$", re.I | re.S
)


def strip_quoted(text: str) -> str:
    """The text without quoted history where it is clearly marked; never empty when ``text``
    is not (a message that is all quote is kept whole)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _SEPARATOR.match(line) and any(earlier.strip() for earlier in lines[:i]):
            lines = lines[:i]
            break
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    if any(line.lstrip().startswith(">") for line in lines[end:]):
        for span in (1, 2, 3):  # an attribution line may be wrapped
            start = end - span
            joined = " ".join(line.strip() for line in lines[max(start, 0) : end])
            if start >= 0 and _ATTRIBUTION.match(joined):
                end = start
                break
    else:
        end = len(lines)
    kept = "\n".join(line.rstrip() for line in lines[:end]).strip()
    return kept or text.strip()


class _HtmlText(HTMLParser):
    """HTML to plain text: block elements end lines, blockquotes are marked with ``>``, links
    keep their address, scripts and styles are dropped. Nothing is executed or fetched."""

    BLOCKS = frozenset(
        [
            "address",
            "article",
            "aside",
            "blockquote",
            "dd",
            "div",
            "dl",
            "dt",
            "footer",
            "form",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "header",
            "hr",
            "li",
            "ol",
            "p",
            "pre",
            "section",
            "table",
            "tr",
            "ul",
        ]
    )
    HIDDEN = frozenset(("script", "style", "head", "title", "template", "noscript"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.hidden = self.quote = self.pre = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self._end_line(keep_empty=True)
        elif tag in self.BLOCKS:
            self._end_line()
            self.quote += tag == "blockquote"
            self.pre += tag == "pre"
            if tag == "li":
                self.line.append("- ")
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self._end_line()
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
            elif tag == "p":
                self.lines.append(">" * self.quote)
        elif tag == "a" and self.href:
            href, shown = self.href.strip(), "".join(self.link_text).strip()
            if href.startswith(("http://", "https://")) and href not in shown:
                self.line.append(f" <{href}>")
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            for i, piece in enumerate(data.split("\n")):
                if i:
                    self._end_line(keep_empty=True)
                self.line.append(piece)
            return
        text = re.sub(r"\s+", " ", data)
        self.line.append(text)
        if self.href is not None:
            self.link_text.append(text)

    def _end_line(self, *, keep_empty: bool = False) -> None:
        text = "".join(self.line)
        self.line = []
        text = text.rstrip() if self.pre else text.strip()
        if text or keep_empty:
            prefix = "> " * self.quote
            self.lines.append((prefix + text) if text else prefix.rstrip())

    def text(self) -> str:
        self._end_line()
        out: list[str] = []
        for line in self.lines:
            if line.strip(" >") or (out and out[-1].strip(" >")):
                out.append(line)  # no two empty lines in a row
        return "\n".join(out).strip()


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # a badly broken document: keep what was read
        pass
    return parser.text()
