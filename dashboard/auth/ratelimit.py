"""Login rate limits: how many failures lock an account or an address, and for how long.

The counts come from ``access_login_attempts`` (shared by every worker, see ``synopse.db.access``); this
module only decides. The window slides: a lock lifts when the oldest counted failure leaves the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from synopse.config import AccessSettings
from synopse.db.access import LoginFailures


@dataclass(frozen=True)
class LoginLimits:
    """Failures allowed within ``window``: per account (since its last success) and per address."""

    per_account: int
    per_address: int
    window: timedelta

    @classmethod
    def from_settings(cls, settings: AccessSettings) -> LoginLimits:
        return cls(
            settings.login_max_failures,
            settings.login_max_failures_per_ip,
            timedelta(minutes=settings.login_window_min),
        )

    def retry_after(self, failures: LoginFailures, now: datetime) -> timedelta | None:
        """How long until a login may be tried again; None when it may be tried now."""
        waits = []
        if failures.account >= self.per_account and failures.oldest_account_failure is not None:
            waits.append(failures.oldest_account_failure + self.window - now)
        if failures.address >= self.per_address and failures.oldest_address_failure is not None:
            waits.append(failures.oldest_address_failure + self.window - now)
        if not waits:
            return None
        # At least a second: a lock about to lift still answers "locked" with a usable Retry-After.
        return max(max(waits), timedelta(seconds=1))
