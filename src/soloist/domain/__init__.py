"""The rules and use cases of Soloist, one module or package per noun.

Every function takes an open SQLAlchemy session and never commits: the caller (CLI command, API
route, page) owns the transaction, so a failed request leaves no half-done change.

The packages, each imported by the interfaces through its ``__init__`` only:

- ``customers`` — records, the customer list, the customer 360, contacts, duplicates, merging
- ``loyalty`` — points on an append-only ledger, tiers, rewards and coupons, referrals, the report
- ``imports`` — importing files: detect, clean, report, write in bulk
- ``scoring`` — model runs (CLV, churn, segments), per-customer scores and their reasons

The modules: ``orders``, ``subscriptions``, ``feedback``, ``interactions``, ``tickets``,
``segment_rules`` (saved rule segments), ``dashboard``, ``status``, ``exports``, ``users``,
``workspace``, ``audit``. See docs/architecture.md for what may import what.
"""
