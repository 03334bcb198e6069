"""Readers counted without keeping their address: keyed hashes, under keys that expire.

A reader is the pair (reader name, address) — for a browser or bot, (User-Agent, address).
It is never stored: only an HMAC-SHA256 of it, cut to 8 bytes (enough to tell a million
readers apart). The hash does not protect an address from someone who holds the key: IPv4
addresses are few enough to hash them all and match. The protection is that the key is
deleted (below), after which no one can.

Counting distinct readers over a rolling week needs the same reader to hash the same way on
each of its seven days, yet a key kept for ever would make a hash a permanent pseudonym. So
each window of seven days has its own key, made when the window's first day begins and
dropped when the window's count is final (a few days after it ends, for late logs): a request
on day D is hashed once under the key of each window it falls in (those ending D … D+6). When
a key is dropped, the hashes made with it can no longer be linked to any address, even by
someone who has the address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import date, timedelta

from newswire.audience import WINDOW_DAYS

#: Bytes kept of each hash.
DIGEST_BYTES = 8
#: Bytes of a key.
KEY_BYTES = 32

#: Digests of one reader, by the tag (a day) of the set each belongs in.
Hasher = Callable[[date, str], dict[date, int]]


def digest(key: bytes, identity: str) -> int:
    """The kept hash of ``identity`` under ``key``: its first bytes as an int (an int in a set
    takes less memory than a bytes object)."""
    mac = hmac.new(key, identity.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return int.from_bytes(mac[:DIGEST_BYTES], "big")


def new_key() -> bytes:
    """A fresh random key."""
    return secrets.token_bytes(KEY_BYTES)


class RunKey:
    """One key for one run of ``newswire stats``, never written anywhere.

    Every day's readers are hashed with it, tagged by their day, so any span of days can be
    counted by uniting the days' sets.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or new_key()

    def __call__(self, day: date, identity: str) -> dict[date, int]:
        return {day: digest(self._key, identity)}


class WindowKeys:
    """A key per seven-day window, named by its last day: what the AWS pipeline keeps.

    Args:
        key_for: the key of the window ending on a day (made on first use, by the store), or
            None when that window is closed.
        first_open: the last day of the earliest window not yet closed: a request logged
            late is not hashed for windows already closed, whose keys are gone.
    """

    def __init__(
        self, key_for: Callable[[date], bytes | None], first_open: date | None = None
    ) -> None:
        self._key_for = key_for
        self._first_open = first_open
        self._keys: dict[date, bytes | None] = {}

    @property
    def opened(self) -> list[date]:
        """The windows readers were hashed for: a processor checks, once its partials are
        written, whether the rollup closed one meanwhile."""
        return sorted(end for end, key in self._keys.items() if key is not None)

    @property
    def closed(self) -> list[date]:
        """The windows found closed (no key) when a reader of theirs came to be hashed."""
        return sorted(end for end, key in self._keys.items() if key is None)

    def __call__(self, day: date, identity: str) -> dict[date, int]:
        digests = {}
        for offset in range(WINDOW_DAYS):
            end = day + timedelta(days=offset)
            if self._first_open is not None and end < self._first_open:
                continue
            if end in self._keys:
                key = self._keys[end]
            else:
                key = self._keys[end] = self._key_for(end)
            if key is not None:  # None: the window is closed, its count taken
                digests[end] = digest(key, identity)
        return digests
