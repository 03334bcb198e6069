"""CloudFront standard log files (the W3C extended format), read and written.

A file starts with ``#Version:`` and ``#Fields:`` lines; the field list decides the column
order, so a file with fields added, removed or moved is still read. Values are tab-separated,
``-`` when empty, and URL-encoded as CloudFront writes them: a User-Agent's space, ``"`` and
``\\`` are encoded twice (``%2520``, ``%2522``, ``%255C``), other characters once, so both
forms are decoded. Lines are read one at a time: memory does not grow with the file.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, NamedTuple
from urllib.parse import quote, unquote

#: The fields CloudFront writes, in its order: also what ``newswire serve`` writes.
CLOUDFRONT_FIELDS = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
    "cs-uri-stem", "sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)",
    "x-edge-result-type", "x-edge-request-id", "x-host-header", "cs-protocol", "cs-bytes",
    "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
    "x-edge-response-result-type", "cs-protocol-version", "fle-status", "fle-encrypted-fields",
    "c-port", "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type",
    "sc-content-len", "sc-range-start", "sc-range-end",
)  # fmt: skip

#: The fields counting needs: a file without one of them has no line that can be counted.
REQUIRED_FIELDS = (
    "date",
    "time",
    "c-ip",
    "cs-method",
    "cs-uri-stem",
    "sc-status",
    "cs(User-Agent)",
)

#: The characters CloudFront encodes twice in a header value (space, ``"``, ``\\``): decoded to
#: their single encoding before the value is unquoted once.
_TWICE_ENCODED = re.compile(r"%25(20|22|5C)", re.I)

#: The longest line read; a longer one is malformed (CloudFront caps a URL at 8 KB).
MAX_LINE_BYTES = 64 * 1024


class Request(NamedTuple):
    """One logged request: what counting reads of a line."""

    time: datetime
    address: str
    method: str
    path: str
    status: int
    user_agent: str


class Malformed(NamedTuple):
    """A line that could not be read: where it is and why, to report and skip."""

    source: str
    line_number: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line_number}: {self.reason}"


def read_log(
    lines: Iterable[bytes], source: str, *, period: tuple[datetime, datetime] | None = None
) -> Iterator[Request | Malformed]:
    """Each request of a log file, or why a line was skipped.

    Args:
        lines: the file's lines, as bytes (a file object opened in binary mode).
        source: the file's name, for the reports of malformed lines.
        period: the first and last time (UTC) a request of this file can have: a line dated
            outside it is malformed (a damaged date such as 9999-12-30 would overflow the
            date arithmetic of counting).

    Returns:
        An iterator of requests and malformed-line reports, in file order.
    """
    columns: dict[str, int] | None = None
    no_columns = "a request before any #Fields: line, expected the header first"
    for number, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE_BYTES:
            yield Malformed(
                source, number, f"a line of {len(raw)} bytes, expected at most {MAX_LINE_BYTES}"
            )
            continue
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                columns = _columns(line)
                if columns is None:
                    no_columns = f"#Fields: lacks one of {', '.join(REQUIRED_FIELDS)}"
                    yield Malformed(source, number, no_columns)
                    no_columns = f"the #Fields: line {number} lacks a field counting needs"
            continue
        if columns is None:
            yield Malformed(source, number, no_columns)
            continue
        parsed = _request(line.split("\t"), columns)
        if isinstance(parsed, Request) and period and not period[0] <= parsed.time <= period[1]:
            parsed = (
                f"dated {parsed.time:%Y-%m-%d %H:%M:%S}, expected from "
                f"{period[0]:%Y-%m-%d %H:%M} to {period[1]:%Y-%m-%d %H:%M}"
            )
        if isinstance(parsed, str):
            yield Malformed(source, number, parsed)
        else:
            yield parsed


def _columns(header: str) -> dict[str, int] | None:
    names = header.removeprefix("#Fields:").split()
    columns = {name: position for position, name in enumerate(names)}
    return columns if all(name in columns for name in REQUIRED_FIELDS) else None


def _request(values: list[str], columns: dict[str, int]) -> Request | str:
    """The request of one line's values, or what is wrong with them."""
    if len(values) < len(columns):
        return f"{len(values)} tab-separated values, expected {len(columns)} as #Fields: names"
    try:
        when = datetime.fromisoformat(f"{values[columns['date']]}T{values[columns['time']]}")
    except ValueError:
        return "date and time are not YYYY-MM-DD and HH:MM:SS"
    status = values[columns["sc-status"]]
    if not status.isdigit():
        return f"sc-status {status[:20]!r} is not a number"
    agent = values[columns["cs(User-Agent)"]]
    return Request(
        time=when.replace(tzinfo=UTC),
        address=values[columns["c-ip"]],
        method=values[columns["cs-method"]],
        path=unquote(values[columns["cs-uri-stem"]]),
        status=int(status),
        user_agent="" if agent == "-" else decode_header(agent),
    )


def decode_header(value: str) -> str:
    """A header value as sent, from its logged form: CloudFront encodes some characters twice."""
    return unquote(_TWICE_ENCODED.sub(r"%\1", value))


def open_log(path: Path) -> IO[bytes]:
    """A log file for reading in binary, gunzipped on the fly when it is gzip."""
    raw = path.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    raw.seek(0)
    return raw


def header() -> str:
    """The two lines a log file starts with, naming its fields."""
    return f"#Version: 1.0\n#Fields: {' '.join(CLOUDFRONT_FIELDS)}\n"


def format_line(request: Request, *, host: str, size: int, elapsed: float) -> str:
    """One log line for ``request``, in :data:`CLOUDFRONT_FIELDS` order, as CloudFront writes it."""
    when = request.time.astimezone(UTC)
    known = {
        "date": when.strftime("%Y-%m-%d"),
        "time": when.strftime("%H:%M:%S"),
        "x-edge-location": "LOCAL",
        "sc-bytes": str(size),
        "c-ip": request.address,
        "cs-method": request.method,
        "cs(Host)": host,
        "cs-uri-stem": quote(request.path, safe="/~-._"),
        "sc-status": str(request.status),
        "cs(User-Agent)": _encoded(request.user_agent),
        "x-host-header": host,
        "cs-protocol": "http",
        "time-taken": f"{elapsed:.3f}",
        "cs-protocol-version": "HTTP/1.1",
    }
    return "\t".join(known.get(name, "-") for name in CLOUDFRONT_FIELDS) + "\n"


def _encoded(value: str) -> str:
    """A header value as CloudFront logs it: percent-encoded, space, ``"`` and ``\\`` twice."""
    if not value:
        return "-"
    once = quote(value, safe="/:;()+,=.~-_*!'@?&")
    return once.replace("%20", "%2520").replace("%22", "%2522").replace("%5C", "%255C")
