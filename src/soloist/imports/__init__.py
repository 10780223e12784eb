"""Import formats: reading files, recognising their layout, mapping columns to fields.

Nothing here touches the database; :mod:`soloist.domain.imports.pipeline` uses it to import.

>>> from soloist.imports import FORMATS
>>> "cdnow" in FORMATS.names()
True
"""

from __future__ import annotations

from soloist.imports.base import ImportFormat, Record, Registry, TableFormat
from soloist.imports.formats.cdnow import CdnowLog
from soloist.imports.formats.generic import GenericFormat
from soloist.imports.formats.olist import OlistCustomers, OlistPart
from soloist.imports.formats.retail import RetailLineItems
from soloist.imports.formats.shopify import ShopifyCustomers, ShopifyOrders
from soloist.imports.formats.snapshot import SubscriptionSnapshot
from soloist.imports.formats.stripe import StripeCharges, StripeCustomers, StripeSubscriptions
from soloist.imports.formats.woocommerce import WooCommerceOrders
from soloist.imports.raw import RawTable
from soloist.imports.synonyms import KINDS
from soloist.imports.text import read_table

FORMATS = Registry()
FORMATS.register(ShopifyOrders(), "shopify-orders")
FORMATS.register(ShopifyCustomers())
FORMATS.register(StripeCharges(), "stripe", "stripe-payments")
FORMATS.register(StripeCustomers())
FORMATS.register(StripeSubscriptions())
FORMATS.register(WooCommerceOrders(), "woo", "woocommerce-orders")
FORMATS.register(RetailLineItems(), "online-retail", "uci")
FORMATS.register(CdnowLog())
FORMATS.register(OlistCustomers())
FORMATS.register(OlistPart())
FORMATS.register(SubscriptionSnapshot(), "snapshot", "telco")
FORMATS.register(GenericFormat(), "csv", "tsv", "xlsx", "excel", "table")

__all__ = [
    "FORMATS",
    "KINDS",
    "ImportFormat",
    "RawTable",
    "Record",
    "Registry",
    "SubscriptionSnapshot",
    "TableFormat",
    "read_table",
]
