"""Customers: records (create, update, find, consent), the customer list, the customer 360
(``overview``), contact details (``contacts``), likely duplicates and merging.

The interfaces import from here, never from the modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soloist.domain._lazy import lazy_face

if TYPE_CHECKING:
    from soloist.domain.customers.consents import (
        ConsentEvent,
        consent_history,
        current_consents,
        current_wording_version,
        list_wordings,
        publish_wording,
        record_consent,
    )
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
    from soloist.domain.customers.names import (
        forget_customer_names,
        index_customer_names,
        reindex_customer_names,
    )
    from soloist.domain.customers.overview import customer_overview
    from soloist.domain.customers.records import (
        CustomerCreate,
        CustomerPublic,
        CustomerUpdate,
        add_customers_bulk,
        create_customer,
        customer_names,
        find_customer_by_email,
        find_customer_by_phone,
        get_customer,
        search_customers,
        update_customer,
    )

_MODULE_OF = {
    "ConsentEvent": "consents",
    "CustomerCreate": "records",
    "CustomerFilters": "listing",
    "CustomerPublic": "records",
    "CustomerUpdate": "records",
    "SORTS": "listing",
    "add_customers_bulk": "records",
    "consent_history": "consents",
    "create_customer": "records",
    "current_consents": "consents",
    "current_wording_version": "consents",
    "customer_names": "records",
    "customer_overview": "overview",
    "email_lookup_hash": "contacts",
    "find_customer_by_email": "records",
    "find_customer_by_phone": "records",
    "find_duplicate_customers": "duplicates",
    "forget_customer_names": "names",
    "get_customer": "records",
    "index_customer_names": "names",
    "list_customers": "listing",
    "list_wordings": "consents",
    "merge_customers": "merge",
    "normalise_address": "contacts",
    "normalise_email": "contacts",
    "normalise_phone": "contacts",
    "publish_wording": "consents",
    "record_consent": "consents",
    "reindex_customer_names": "names",
    "search_customers": "records",
    "segment_names": "listing",
    "update_customer": "records",
}
__all__ = [
    "SORTS",
    "ConsentEvent",
    "CustomerCreate",
    "CustomerFilters",
    "CustomerPublic",
    "CustomerUpdate",
    "add_customers_bulk",
    "consent_history",
    "create_customer",
    "current_consents",
    "current_wording_version",
    "customer_names",
    "customer_overview",
    "email_lookup_hash",
    "find_customer_by_email",
    "find_customer_by_phone",
    "find_duplicate_customers",
    "forget_customer_names",
    "get_customer",
    "index_customer_names",
    "list_customers",
    "list_wordings",
    "merge_customers",
    "normalise_address",
    "normalise_email",
    "normalise_phone",
    "publish_wording",
    "record_consent",
    "reindex_customer_names",
    "search_customers",
    "segment_names",
    "update_customer",
]
__getattr__, __dir__ = lazy_face(__name__, _MODULE_OF, globals())
