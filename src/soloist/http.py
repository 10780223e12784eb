"""HTTP facts the API and the web app share (neither may import the other).

Both accept a signed-in browser session; a request that can change something must then carry
the session's CSRF token in the ``X-CSRF-Token`` header (or, from a web form, a hidden field).
"""

from __future__ import annotations

# Methods that change nothing, so need no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The request header that carries the CSRF token (HTMX and the API's cookie callers send it).
CSRF_HEADER = "X-CSRF-Token"
