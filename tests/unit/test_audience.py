"""Who reads the feeds: the counting rules, from log lines of each kind of client."""

from __future__ import annotations

import gzip
import json
import re
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.adapters.audience import dimension_value
from newswire.audience.agents import ClientKind, classify
from newswire.audience.counting import DayAggregate, Tally, WindowCounter
from newswire.audience.hashing import RunKey, WindowKeys, new_key
from newswire.audience.logformat import Malformed, Request, read_log
from newswire.cli import main
from tests.support import cloudfront as cf
from tests.support.cloudfront import HEADER, line


@pytest.mark.parametrize(
    ("agent", "name", "subscribers", "feed_id"),
    [
        (cf.FEEDLY.format(n=1234), "Feedly", 1234, ""),
        (cf.INOREADER.format(n=56), "Inoreader", 56, ""),
        (cf.NEWSBLUR.format(n=12, id=7704055), "NewsBlur", 12, "7704055"),
        (cf.FEEDBIN.format(id=1697787, n=102), "Feedbin", 102, "1697787"),
        (cf.OLD_READER.format(n=1, id="cead6c3a"), "The Old Reader", 1, "cead6c3a"),
        (cf.BAZQUX.format(n=3), "BazQux", 3, ""),
        (
            "PlainFeeder v0.0.1 (+http://plainfeeder.com/about ; Subscriber Count: 9)",
            "PlainFeeder",
            9,
            "",
        ),
    ],
)
def test_hosted_services_report_their_subscribers(
    agent: str, name: str, subscribers: int, feed_id: str
) -> None:
    client = classify(agent)
    assert (client.kind, client.name, client.subscribers, client.feed_id) == (
        ClientKind.HOSTED, name, subscribers, feed_id,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("agent", "kind", "name"),
    [
        (cf.NETNEWSWIRE, ClientKind.READER, "NetNewsWire"),
        (cf.NEWSBOAT, ClientKind.READER, "newsboat"),
        (cf.THUNDERBIRD, ClientKind.READER, "Thunderbird"),
        ("FreshRSS/1.24.3 (Linux; https://freshrss.org)", ClientKind.READER, "FreshRSS"),
        ("MyScript/0.1", ClientKind.READER, "MyScript"),
        (cf.CHROME, ClientKind.BROWSER, "browser"),
        (cf.GOOGLEBOT, ClientKind.BOT, "Googlebot"),
        (cf.SLACKBOT, ClientKind.BOT, "Slackbot"),
        ("facebookexternalhit/1.1", ClientKind.BOT, "facebookexternalhit"),
        ("curl/8.5.0", ClientKind.BOT, "curl"),
        ("", ClientKind.BOT, "unknown"),
        (
            "Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google)",
            ClientKind.BOT,
            "Feedly",
        ),
    ],
)
def test_readers_browsers_and_bots_are_told_apart(agent: str, kind: ClientKind, name: str) -> None:
    client = classify(agent)
    assert (client.kind, client.name, client.subscribers) == (kind, name, 0)


def requests(text: str) -> list[Request | Malformed]:
    return list(read_log(text.encode().splitlines(keepends=True), "test.log"))


def test_the_fields_header_decides_the_column_order() -> None:
    text = (
        "#Version: 1.0\n#Fields: cs(User-Agent) sc-status cs-uri-stem cs-method c-ip time date\n"
        "Feedbin%20feed-id:1%20-%205%20subscribers\t304\t/rss.xml\tGET\t192.0.2.1\t10:00:00\t2026-12-01\n"
    )
    (found,) = requests(text)
    assert found == Request(
        datetime(2026, 12, 1, 10, tzinfo=UTC), "192.0.2.1", "GET", "/rss.xml", 304,
        "Feedbin feed-id:1 - 5 subscribers",
    )  # fmt: skip


def test_malformed_lines_are_reported_with_their_line_and_skipped() -> None:
    text = (
        "2026-12-01\t10:00:00\tbefore any header\n"
        + HEADER
        + line("2026-12-01 10:00:00", "/rss.xml", cf.NETNEWSWIRE)
        + "2026-12-01\t10:00:01\ttoo\tfew\n"
        + line("2026-13-01 10:00:00", "/rss.xml", cf.NETNEWSWIRE)
        + line("2026-12-01 10:00:00", "/rss.xml", cf.NETNEWSWIRE).replace("\t200\t", "\tOK\t")
        + line("2026-12-01 10:00:02", "/atom.xml", cf.NEWSBOAT)
    )
    found = requests(text)
    assert [type(item).__name__ for item in found] == [
        "Malformed", "Request", "Malformed", "Malformed", "Malformed", "Request",
    ]  # fmt: skip
    problems = [str(item) for item in found if isinstance(item, Malformed)]
    assert problems[0].startswith("test.log:1: a request before any #Fields: line")
    assert problems[1].startswith("test.log:5: 4 tab-separated values, expected 33")
    assert "test.log:6: date and time" in problems[2]
    assert "test.log:7: sc-status 'OK'" in problems[3]


def count(text: str, first: date, last: date) -> dict[str, dict[str, object]]:
    tally = Tally(RunKey())
    for item in requests(HEADER + text):
        assert isinstance(item, Request)
        tally.add(item)
    days = [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
    counter = WindowCounter(days)
    for (path, day), aggregate in tally.aggregates.items():
        if first <= day <= last:
            counter.add(path, aggregate)
    return {path: counts.to_json() for path, counts in counter.counts().items()}


WEEK = (date(2026, 12, 1), date(2026, 12, 7))


def test_subscribers_are_services_latest_counts_and_distinct_readers() -> None:
    text = (
        line("2026-12-01 08:00:00", "/rss.xml", cf.FEEDLY.format(n=100), "198.51.100.1")
        + line("2026-12-03 08:00:00", "/rss.xml", cf.FEEDLY.format(n=120), "198.51.100.2")
        + line("2026-12-02 08:00:00", "/rss.xml", cf.FEEDLY.format(n=90), "198.51.100.1")
        + line("2026-12-02 09:00:00", "/rss.xml", cf.FEEDBIN.format(id=1, n=10))
        + line("2026-12-02 09:00:00", "/rss.xml", cf.FEEDBIN.format(id=2, n=5))
        + line("2026-12-05 09:00:00", "/rss.xml", cf.FEEDBIN.format(id=1, n=11))
        + line("2026-12-01 10:00:00", "/rss.xml", cf.NETNEWSWIRE, "192.0.2.1")
        + line("2026-12-06 10:00:00", "/rss.xml", cf.NETNEWSWIRE, "192.0.2.1")
        + line("2026-12-06 10:00:00", "/rss.xml", cf.NETNEWSWIRE, "192.0.2.2")
        + line("2026-12-06 10:00:00", "/rss.xml", cf.NEWSBOAT, "192.0.2.2")
        + line("2026-12-06 11:00:00", "/rss.xml", cf.CHROME, "192.0.2.9")
        + line("2026-12-06 11:00:00", "/rss.xml", cf.GOOGLEBOT, "66.249.66.1")
        + line("2026-12-06 11:00:01", "/rss.xml", cf.SLACKBOT, "3.92.144.159", method="HEAD")
        + line("2026-12-06 12:00:00", "/rss.xml", cf.NEWSBOAT, "192.0.2.3", status=404)
        + line("2026-12-06 12:00:00", "/feed.xsl", cf.CHROME, "192.0.2.9")
        + line("2026-12-06 12:00:00", "/tags/local/atom.xml", cf.INOREADER.format(n=7))
    )
    assert count(text, *WEEK) == {
        "/rss.xml": {
            "subscribers": 120 + 11 + 5 + 3,
            "hosted": {"Feedbin": 16, "Feedly": 120},
            "individual": 3,
            "browsers": 1,
            "bots": 2,
            "requests": 13,
        },
        "/tags/local/atom.xml": {
            "subscribers": 7, "hosted": {"Inoreader": 7}, "individual": 0, "browsers": 0,
            "bots": 0, "requests": 1,
        },
    }  # fmt: skip


def test_a_reader_not_seen_in_the_last_seven_days_is_not_counted() -> None:
    text = line("2026-11-30 10:00:00", "/rss.xml", cf.NETNEWSWIRE) + line(
        "2026-12-07 23:59:59", "/rss.xml", cf.NEWSBOAT
    )
    assert count(text, *WEEK)["/rss.xml"]["individual"] == 1


def test_window_keys_link_a_reader_across_its_week_and_keep_no_address() -> None:
    keys: dict[date, bytes] = {}
    hasher = WindowKeys(lambda end: keys.setdefault(end, new_key()))
    tally = Tally(hasher)
    for when in ("2026-12-01 10:00:00", "2026-12-04 10:00:00"):
        (request,) = requests(HEADER + line(when, "/rss.xml", cf.NETNEWSWIRE, "192.0.2.77"))
        assert isinstance(request, Request)
        tally.add(request)
    counter = WindowCounter([date(2026, 12, 7)])  # the window of Dec 1-7, under its own key
    stored = []
    for (path, _day), aggregate in tally.aggregates.items():
        document = json.dumps(aggregate.to_json())
        stored.append(document)
        counter.add(path, DayAggregate.from_json(json.loads(document)))
    assert counter.counts()["/rss.xml"].individual == 1
    assert not any("192.0.2.77" in document for document in stored)
    assert len(keys) == 10  # windows ending Dec 1 to Dec 10


def test_stats_prints_json_for_gzip_logs_and_skips_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "E2EXAMPLE.2026-12-06-10.abcd1234.gz"
    log.write_bytes(
        gzip.compress(
            (
                HEADER
                + line("2026-12-06 10:00:00", "/rss.xml", cf.FEEDLY.format(n=1234))
                + line("2026-12-06 10:05:00", "/rss.xml", cf.NETNEWSWIRE)
                + line("2026-12-06 10:05:00", "/rss.xml", cf.NETNEWSWIRE)
                + "garbage\n"
                + line("2026-12-06 10:06:00", "/rss.xml", cf.GOOGLEBOT)
            ).encode()
        )
    )
    assert main(["stats", str(log), "--json", "--now", "2026-12-07T00:00:00Z"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "feeds": {
            "/rss.xml": {
                "subscribers": 1235, "hosted": {"Feedly": 1234}, "individual": 1,
                "browsers": 0, "bots": 1, "requests": 4,
            }
        }
    }  # fmt: skip
    assert f"skipped {log}:6: 1 tab-separated values" in err


def test_stats_table_and_html_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        HEADER
        + line("2026-12-04 10:00:00", "/rss.xml", cf.INOREADER.format(n=56))
        + line("2026-12-05 10:00:00", "/rss.xml", cf.NEWSBOAT)
    )
    page = tmp_path / "stats.html"
    status = main(
        ["stats", str(log), "--days", "3", "--now", "2026-12-05T12:00:00Z", "--html", str(page)]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "feeds from 2026-12-03 to 2026-12-05" in out
    assert "/rss.xml" in out and "Inoreader 56" in out
    text = page.read_text()
    assert text.count("<svg") == 1 and text.count("<rect") == 6  # 3 days, hosted + individual
    assert "57</text>" in text  # the last day: 56 through Inoreader and 1 reader
    assert "src=" not in text and "<link" not in text and "<script" not in text


def test_a_missing_log_is_reported_and_the_others_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "access.log"
    log.write_text(HEADER + line("2026-12-05 10:00:00", "/rss.xml", cf.NEWSBOAT))
    status = main(
        [
            "stats",
            str(tmp_path / "missing.log"),
            str(log),
            "--json",
            "--now",
            "2026-12-06T00:00:00Z",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 1
    assert "missing.log: cannot be read" in err
    assert json.loads(out)["feeds"]["/rss.xml"]["individual"] == 1


def test_lines_under_a_fields_header_that_cannot_be_counted_say_why() -> None:
    text = "#Version: 1.0\n#Fields: date time c-ip\n2026-12-01\t10:00:00\t192.0.2.1\n"
    assert [str(item) for item in requests(text)] == [
        "test.log:2: #Fields: lacks one of date, time, c-ip, cs-method, cs-uri-stem, "
        "sc-status, cs(User-Agent)",
        "test.log:3: the #Fields: line 2 lacks a field counting needs",
    ]


def test_user_agents_encoded_twice_as_cloudfront_logs_them_are_decoded() -> None:
    found = requests(
        HEADER + cf.VERBATIM_FEEDLY + cf.VERBATIM_BINGBOT + cf.VERBATIM_INOREADER
        + cf.VERBATIM_QUOTED
    )  # fmt: skip
    agents = [item.user_agent for item in found if isinstance(item, Request)]
    assert agents == [
        "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Inoreader/1.0 (+http://www.inoreader.com/feed-fetcher; 3 subscribers; )",
        'NetNewsWire (RSS Reader; "beta"\\mac)',
    ]
    tally = Tally(RunKey())
    for item in found:
        assert isinstance(item, Request)
        tally.add(item)
    counter = WindowCounter([date(2026, 12, 1)])
    for (path, _day), aggregate in tally.aggregates.items():
        counter.add(path, aggregate)
    assert counter.counts()["/rss.xml"].to_json() == {
        "subscribers": 462 + 3 + 1, "hosted": {"Feedly": 462, "Inoreader": 3}, "individual": 1,
        "browsers": 0, "bots": 1, "requests": 4,
    }  # fmt: skip


@pytest.mark.parametrize(
    "agent",
    [
        "Feedly/1.0%20(+http://www.feedly.com/fetcher.html;%20462%20subscribers;%20)",
        "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462%20subscribers; )",
    ],
)
def test_a_count_is_not_read_from_the_tail_of_a_percent_escape(agent: str) -> None:
    assert classify(agent).subscribers == 0  # not 20: no whole number before "subscribers"


@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_a_gzip_log_failing_partway_is_reported_and_none_of_its_lines_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    lines = "".join(
        line(f"2026-12-05 10:{n // 60:02d}:{n % 60:02d}", "/rss.xml", cf.NEWSBOAT, f"192.0.2.{n}")
        for n in range(200)
    )
    packed = gzip.compress((HEADER + lines).encode())
    broken = tmp_path / "broken.gz"
    if damage == "corrupt":  # the deflate stream damaged after its first lines
        broken.write_bytes(packed[:600] + bytes(b ^ 0xFF for b in packed[600:900]) + packed[900:])
    else:
        broken.write_bytes(packed[: len(packed) // 2])
    good = tmp_path / "good.log"
    good.write_text(HEADER + line("2026-12-05 11:00:00", "/rss.xml", cf.NETNEWSWIRE))
    status = main(["stats", str(broken), str(good), "--json", "--now", "2026-12-06T00:00:00Z"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "broken.gz: cannot be read" in err
    assert json.loads(out)["feeds"]["/rss.xml"]["individual"] == 1  # the good log's reader only


def test_a_tallys_memory_per_distinct_reader_stays_small() -> None:
    keys: dict[date, bytes] = {}
    tally = Tally(WindowKeys(lambda end: keys.setdefault(end, new_key())))
    when = datetime(2026, 12, 6, 10, tzinfo=UTC)
    readers = 20_000
    found = [
        Request(when, f"10.0.{n >> 8}.{n & 255}", "GET", "/rss.xml", 200, cf.NETNEWSWIRE)
        for n in range(readers)
    ]
    tracemalloc.start()
    try:
        for request in found:
            tally.add(request)
        used, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert used / readers < 1200  # seven 8-byte hashes a reader, in sets: no cache that grows


def test_a_partial_is_decoded_for_the_windows_asked_only() -> None:
    keys: dict[date, bytes] = {}
    tally = Tally(WindowKeys(lambda end: keys.setdefault(end, new_key())))
    (request,) = requests(HEADER + line("2026-12-01 10:00:00", "/rss.xml", cf.NETNEWSWIRE))
    assert isinstance(request, Request)
    tally.add(request)
    document = json.loads(json.dumps(tally.aggregates[("/rss.xml", date(2026, 12, 1))].to_json()))
    assert len(DayAggregate.from_json(document).visitors[ClientKind.READER]) == 7
    only = DayAggregate.from_json(document, tags={date(2026, 12, 7)})
    assert list(only.visitors[ClientKind.READER]) == [date(2026, 12, 7)]


DIMENSION_SAFE = {chr(c) for c in range(0x20, 0x7F)}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/rss.xml", "/rss.xml"),
        ("/tags/café/rss.xml", "/tags/caf%C3%A9/rss.xml"),
        ("/tags/新聞/atom.xml", "/tags/%E6%96%B0%E8%81%9E/atom.xml"),
        ("/tags/100%/rss.xml", "/tags/100%25/rss.xml"),  # the escape escaped: reversible
        ("/tags/a\tb/feed.json", "/tags/a%09b/feed.json"),  # no control characters
        ("/tags/a b/rss.xml", "/tags/a b/rss.xml"),
    ],
)
def test_a_feeds_metric_dimension_is_its_path_in_ascii(path: str, value: str) -> None:
    assert dimension_value(path) == value
    assert unquote(value) == path


def test_a_path_too_long_for_a_dimension_is_cut_alike_and_apart() -> None:
    base = "/tags/" + "é" * 400
    one, other = dimension_value(base + "/rss.xml"), dimension_value(base + "/atom.xml")
    assert 1020 <= len(one) <= 1024 and len(one) == len(other)
    assert one != other  # the path's digest at the end keeps them apart
    assert one == dimension_value(base + "/rss.xml")
    kept, digest = one.split("%~")
    assert re.fullmatch(r"/tags/(%[0-9A-F]{2})+", kept) and len(digest) == 16  # no escape cut


@given(st.text(min_size=1, max_size=1500))
def test_any_path_gives_a_value_cloudwatch_takes(path: str) -> None:
    value = dimension_value("/" + path)
    assert 1 <= len(value) <= 1024
    assert set(value) <= DIMENSION_SAFE and value.strip()
    if "%~" not in value:  # not cut
        assert unquote(value, errors="surrogatepass") == "/" + path
