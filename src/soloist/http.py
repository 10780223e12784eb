"""HTTP facts the API and the web app share (neither may import the other).

Both accept a signed-in browser session; a request that can change something must then carry
the session's CSRF token in the ``X-CSRF-Token`` header (or, from a web form, a hidden field).
"""

from __future__ import annotations

# Methods that change nothing, so need no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The request header that carries the CSRF token (HTMX and the API's cookie callers send it).
CSRF_HEADER = "X-CSRF-Token"

# Longest file name most file systems take (ext4, APFS, NTFS: 255 bytes or UTF-16 units).
MAX_FILE_NAME_BYTES = 255


def safe_upload_name(raw: str | None, default: str = "upload.csv") -> str:
    """An uploaded file's name fit to store: its last path part, without NUL and other control
    characters, never ``.`` or ``..``, at most 255 UTF-8 bytes with its suffixes kept (they say
    the format: ``.csv.gz``, ``.xlsx``). The name matters: a bundle import recognises files by it.
    """
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if name in ("", ".", ".."):
        return default
    if len(name.encode("utf-8")) <= MAX_FILE_NAME_BYTES:
        return name
    stem, dot, suffixes = name.partition(".")
    suffixes = (dot + suffixes)[-32:] if dot else ""
    room = MAX_FILE_NAME_BYTES - len(suffixes.encode("utf-8"))
    return stem.encode("utf-8")[:room].decode("utf-8", "ignore") + suffixes
