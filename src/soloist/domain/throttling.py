"""Sign-in throttling: too many failed sign-ins for one account, or from one address, and
further attempts are refused with 429 until the window has moved on.

Only failures count, in a moving window (``limits``' moving-window strategy, in memory: one
server process holds the counts, and a restart forgets them). An account is counted by the
normalised e-mail typed, whether or not a user has it, so a refusal says nothing about which
accounts exist; a refused attempt checks no password at all. A successful sign-in clears its
account's count but never its address's, so one right password cannot reset a guessing run from
that address. API tokens are counted per address only: a token names no account.

Defaults follow OWASP's Authentication Cheat Sheet (lock-out thresholds of this order, a window
of minutes): 10 failures per account and 50 per address in 15 minutes; the settings
``sign_in_failures_per_account``, ``sign_in_failures_per_address`` and
``sign_in_window_minutes`` change them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from soloist.errors import TooManyAttemptsError


@dataclass(frozen=True)
class ThrottlePolicy:
    failures_per_account: int = 10
    failures_per_address: int = 50
    window_minutes: int = 15


class SignInThrottle:
    """Counts failed sign-ins per account and per address; :meth:`check` refuses over the limit."""

    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self.policy = policy or ThrottlePolicy()
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        window = self.policy.window_minutes
        self._account = RateLimitItemPerMinute(self.policy.failures_per_account, window)
        self._address = RateLimitItemPerMinute(self.policy.failures_per_address, window)

    def check(self, account: str | None, address: str | None) -> None:
        """Raise :class:`TooManyAttemptsError` (with ``retry_after`` seconds) when either count
        is used up."""
        waits = []
        for item, kind, key in self._keys(account, address):
            if not self._limiter.test(item, kind, key):
                reset = self._limiter.get_window_stats(item, kind, key).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        if waits:
            wait = max(waits)
            raise TooManyAttemptsError(
                f"Too many failed sign-ins; try again in {math.ceil(wait / 60)} minute(s).",
                retry_after=wait,
            )

    def failed(self, account: str | None, address: str | None) -> None:
        for item, kind, key in self._keys(account, address):
            self._limiter.hit(item, kind, key)

    def succeeded(self, account: str | None) -> None:
        if account:
            self._limiter.clear(self._account, "account", _account_key(account))

    def _keys(
        self, account: str | None, address: str | None
    ) -> list[tuple[RateLimitItemPerMinute, str, str]]:
        keys = []
        if account:
            keys.append((self._account, "account", _account_key(account)))
        if address:
            keys.append((self._address, "address", address))
        return keys


def _account_key(account: str) -> str:
    return account.strip().casefold()
