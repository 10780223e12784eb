"""The demo business, a one-person coffee shop with a subscription: a client of the domain, like
the interfaces, so nothing in the domain depends on it.

``business`` (:func:`build_demo`), ``vocabulary`` (names, products, words), ``purchases`` (the
buying process, drawn with NumPy), ``conversations`` (surveys, reviews, interactions),
``service`` (tickets on the desk's SLA clocks, ``clock`` their arithmetic), ``sales`` (deals
and tasks) and ``loyalty`` (the programme launched a year before the demo ends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.demo.business import build_demo
    from soloist.demo.loyalty import build_loyalty_demo
    from soloist.demo.purchases import TRUE_ALPHA, TRUE_R

_MODULE_OF = {
    "TRUE_ALPHA": "purchases",
    "TRUE_R": "purchases",
    "build_demo": "business",
    "build_loyalty_demo": "loyalty",
}
__all__ = ["TRUE_ALPHA", "TRUE_R", "build_demo", "build_loyalty_demo"]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
