"""``newswire stats LOG...``: subscribers per feed from CloudFront standard log files.

Reads plain or gzipped logs one line at a time, hashes readers with a key made for the run
(never written), and prints a table, ``--json`` or an ``--html`` page. A malformed line is
reported on stderr and skipped; a file that cannot be read (missing, truncated or corrupt
gzip) is reported, none of its lines counted, and the others are still counted (exit status 1).
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from newswire.audience import WINDOW_DAYS

if TYPE_CHECKING:  # the rest is imported when the command runs: not by every `newswire build`
    from newswire.audience.counting import DayAggregate, FeedCounts, Tally

#: Malformed lines reported one by one per file; the rest are counted in one line.
MALFORMED_SHOWN = 10


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    parse_now: Callable[[str], datetime],
) -> None:
    """Register ``newswire stats`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "stats", help="subscribers per feed from CloudFront standard log files (plain or .gz)"
    )
    parser.add_argument("logs", type=Path, nargs="+", metavar="LOG", help="log files")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.add_argument(
        "--days", type=_positive, default=WINDOW_DAYS, help="days in the window (default 7)"
    )
    parser.add_argument(
        "--now", type=parse_now, default=None, help="the window's end (default: now)"
    )
    parser.add_argument(
        "--html", type=Path, default=None, metavar="FILE", help="also write a page with charts"
    )


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a whole number of days, 1 or more")
    return int(value)


def stats_command(
    logs: Sequence[Path],
    *,
    days: int = WINDOW_DAYS,
    now: datetime | None = None,
    as_json: bool = False,
    html: Path | None = None,
) -> int:
    """Count ``logs`` and print the window's counts; return the exit status."""
    from newswire.audience import report
    from newswire.audience.counting import Tally
    from newswire.audience.hashing import RunKey

    end = now or datetime.now(UTC)
    last = end.date()
    first = last - timedelta(days=days - 1)
    key = RunKey()
    first_day = first - timedelta(days=WINDOW_DAYS - 1)
    tally = Tally(key, first_day=first_day, until=end)
    unreadable = 0
    for path in logs:
        of_file = Tally(key, first_day=first_day, until=end)  # merged only if read to the end
        try:
            _count_file(path, of_file)
        except (OSError, EOFError, zlib.error) as e:
            print(
                f"newswire: {path}: cannot be read ({e}); its lines are not counted, "
                "the other logs are",
                file=sys.stderr,
            )
            unreadable += 1
            continue
        tally.merge(of_file)
    counts = window_counts(tally.aggregates.items(), _days(first, last))
    print(report.as_json(counts) if as_json else report.as_table(counts, first, last), end="")
    if html is not None:
        series = daily_series(tally.aggregates, counts, first, last)
        try:
            html.write_text(report.as_html(counts, series, first, last), encoding="utf-8")
        except OSError as e:
            print(f"newswire: --html {html}: cannot be written ({e.strerror})", file=sys.stderr)
            return 2
    return 1 if unreadable else 0


def _count_file(path: Path, tally: Tally) -> None:
    from newswire.audience.logformat import Malformed, open_log, read_log

    malformed = 0
    with open_log(path) as lines:
        for item in read_log(lines, str(path)):
            if isinstance(item, Malformed):
                malformed += 1
                if malformed <= MALFORMED_SHOWN:
                    print(f"newswire: skipped {item}", file=sys.stderr)
            else:
                tally.add(item)
    if malformed > MALFORMED_SHOWN:
        print(
            f"newswire: {path}: {malformed - MALFORMED_SHOWN} more malformed lines skipped",
            file=sys.stderr,
        )


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def window_counts(
    aggregates: Iterable[tuple[tuple[str, date], DayAggregate]], days: Sequence[date]
) -> dict[str, FeedCounts]:
    """Each feed's counts over ``days``, from aggregates hashed with one run key."""
    from newswire.audience.counting import WindowCounter

    counter = WindowCounter(days)
    wanted = set(days)
    for (path, day), aggregate in aggregates:
        if day in wanted:
            counter.add(path, aggregate)
    return counter.counts()


def daily_series(
    aggregates: dict[tuple[str, date], DayAggregate],
    counts: dict[str, FeedCounts],
    first: date,
    last: date,
) -> dict[str, list[tuple[date, FeedCounts | None]]]:
    """Per feed, each day of the window with the counts of the seven days ending then."""
    series: dict[str, list[tuple[date, FeedCounts | None]]] = {path: [] for path in counts}
    for day in _days(first, last):
        week = _days(day - timedelta(days=WINDOW_DAYS - 1), day)
        of_week = window_counts(aggregates.items(), week)
        for path, points in series.items():
            points.append((day, of_week.get(path)))
    return series
