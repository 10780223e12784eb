"""Customers: records (create, update, find, consent), the customer list, the customer 360
(``overview``), contact details (``contacts``), likely duplicates and merging.

The interfaces import from here, never from the modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.customers.contacts import (
        email_lookup_hash,
        normalise_address,
        normalise_email,
        normalise_phone,
    )
    from soloist.domain.customers.duplicates import find_duplicate_customers
    from soloist.domain.customers.listing import (
        SORTS,
        CustomerFilters,
        list_customers,
        segment_names,
    )
    from soloist.domain.customers.merge import merge_customers
    from soloist.domain.customers.overview import customer_overview
    from soloist.domain.customers.records import (
        CustomerCreate,
        CustomerPublic,
        CustomerUpdate,
        add_customers_bulk,
        create_customer,
        current_consents,
        customer_names,
        find_customer_by_email,
        find_customer_by_phone,
        get_customer,
        record_consent,
        search_customers,
        update_customer,
    )

_MODULE_OF = {
    "CustomerCreate": "records",
    "CustomerFilters": "listing",
    "CustomerPublic": "records",
    "CustomerUpdate": "records",
    "SORTS": "listing",
    "add_customers_bulk": "records",
    "create_customer": "records",
    "current_consents": "records",
    "customer_names": "records",
    "customer_overview": "overview",
    "email_lookup_hash": "contacts",
    "find_customer_by_email": "records",
    "find_customer_by_phone": "records",
    "find_duplicate_customers": "duplicates",
    "get_customer": "records",
    "list_customers": "listing",
    "merge_customers": "merge",
    "normalise_address": "contacts",
    "normalise_email": "contacts",
    "normalise_phone": "contacts",
    "record_consent": "records",
    "search_customers": "records",
    "segment_names": "listing",
    "update_customer": "records",
}
__all__ = [
    "SORTS",
    "CustomerCreate",
    "CustomerFilters",
    "CustomerPublic",
    "CustomerUpdate",
    "add_customers_bulk",
    "create_customer",
    "current_consents",
    "customer_names",
    "customer_overview",
    "email_lookup_hash",
    "find_customer_by_email",
    "find_customer_by_phone",
    "find_duplicate_customers",
    "get_customer",
    "list_customers",
    "merge_customers",
    "normalise_address",
    "normalise_email",
    "normalise_phone",
    "record_consent",
    "search_customers",
    "segment_names",
    "update_customer",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
