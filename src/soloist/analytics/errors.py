"""Errors raised by :mod:`soloist.analytics`.

The analytics package is a pure library: it imports nothing else from soloist but the error
tree. Every error it raises deliberately is an :class:`AnalyticsError` — a :class:`ValueError`
and a :class:`~soloist.errors.SoloistError` — whose message names the offending argument and
what is wrong with it, so the CLI and API report it like any other error.
"""

from __future__ import annotations

from soloist.errors import AnalyticsInputError

__all__ = ["AnalyticsError", "NotFittedError"]


class AnalyticsError(AnalyticsInputError):
    """Bad input to an analytics function, or data that cannot identify a model."""


class NotFittedError(AnalyticsError):
    """A prediction method was called on an estimator before ``fit``."""
