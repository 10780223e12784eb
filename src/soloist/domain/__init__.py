"""The rules and use cases of Soloist, one module per noun.

Every function takes an open SQLAlchemy session and never commits: the caller (CLI command, API
route, page) owns the transaction, so a failed request leaves no half-done change.
"""
