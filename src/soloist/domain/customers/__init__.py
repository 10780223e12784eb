"""Customers: records, the list, the customer 360, contact details, duplicates and merging."""
