"""``newswire serve``'s access log, in CloudFront's standard log format.

So ``newswire stats`` counts the readers of a laptop's feeds as it counts a distribution's.
The file is appended to (its header written when it is new) and flushed a line at a time; it
holds readers' addresses as CloudFront's logs do, so it is made readable by its owner only
(0600) and stays on the machine that served them.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from newswire.audience.logformat import Request, format_line, header


def default_path() -> Path:
    """``$XDG_STATE_HOME/newswire/access.log`` (``~/.local/state/newswire/access.log``)."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "newswire" / "access.log"


class AccessLog:
    """Appends one line per request; threads take turns.

    Args:
        path: the log file; its folder is made if missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        # 0600: it holds readers' addresses, for the user who served them only
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(descriptor, "a", encoding="utf-8")
        if self._file.tell() == 0:
            self._file.write(header())
            self._file.flush()

    def record(
        self,
        *,
        address: str,
        method: str,
        path: str,
        status: int,
        user_agent: str,
        host: str,
        size: int,
        started: float,
        finished: float,
    ) -> None:
        """Log one answered request."""
        request = Request(datetime.now(UTC), address, method, path, status, user_agent)
        text = format_line(request, host=host, size=size, elapsed=finished - started)
        with self._lock:
            if not self._file.closed:
                self._file.write(text)
                self._file.flush()

    def close(self) -> None:
        """Close the file; later requests are not logged."""
        with self._lock:
            self._file.close()
