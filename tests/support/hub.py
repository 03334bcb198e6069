"""A WebSub hub on loopback for tests: it records every ping, or fails or stalls on purpose."""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from tests.support.loopback import QuietHandler, serving


@dataclass
class Hub:
    """What the hub answers (``status`` after ``delay`` seconds), the pings it got, and the
    most it was answering at once."""

    url: str = ""
    status: int = 204
    delay: float = 0.0
    pings: list[dict[str, list[str]]] = field(default_factory=list)
    most_at_once: int = 0
    _answering: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answering(self, change: int) -> None:
        with self._lock:
            self._answering += change
            self.most_at_once = max(self.most_at_once, self._answering)


@contextmanager
def running_hub() -> Iterator[Hub]:
    """A hub on loopback for the ``with`` block (the ``hub`` fixture, for wider scopes)."""
    state = Hub()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
            state.pings.append(urllib.parse.parse_qs(self.rfile.read(length).decode()))
            state.answering(+1)
            time.sleep(state.delay)
            state.answering(-1)
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as base:
        state.url = f"{base}/hub"
        yield state


@pytest.fixture
def hub() -> Iterator[Hub]:
    with running_hub() as state:
        yield state
