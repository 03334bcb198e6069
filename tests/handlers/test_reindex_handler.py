"""The reindex Lambda handlers against moto, called as the state machine calls them: the
content bucket is the truth they rebuild from."""

from __future__ import annotations

import json

import feedparser
import pytest

from newswire.domain.feeds import FeedFormat
from newswire.errors import SiteConfigError, TransientStorageError
from newswire.handlers import reindex
from newswire.runtime import SiteConfigMissingError
from tests.handlers.conftest import FakeLambdaContext, fail_put_once, run_reindex, use_hub
from tests.support.aws import Stack
from tests.support.factories import CONTENT
from tests.support.hub import Hub

#: The live articles of content/ (the other four: a draft, a scheduled, a withdrawn and an
#: expired one).
LIVE_TITLES = {
    "Café owners adapt to higher energy bills",
    "Council delays budget vote by a week",
    "Flood warning issued for coastal towns",
    "Harbour & Maritime Festival returns to the waterfront",
    "Putin urges Ukraine military to take over power and hold talks directly with Russia to"
    " end conflict",
    "Rail timetable changes confirmed for the autumn",
}


@pytest.fixture
def stack(lambda_stack: Stack) -> Stack:
    """The function's stack with the repository's content/ folder in its content bucket."""
    lambda_stack.upload_content(CONTENT)
    return lambda_stack


def titles(stack: Stack, path: str) -> set[str]:
    body = stack.feed(path)
    if path.endswith(".json"):
        return {item["title"] for item in json.loads(body)["items"]}
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    return {entry.title for entry in parsed.entries}


def metric_values(out: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in out.splitlines():
        document = json.loads(line) if line.startswith("{") else {}
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values[metric["Name"]] = value[0] if isinstance(value, list) else value
    return values


def test_reindex_builds_every_feed_from_the_bucket(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = run_reindex(stack)

    assert summary["rejected"] == 0
    assert summary["articles"] == 10  # live, draft, scheduled, withdrawn, expired: all indexed
    assert summary["feeds_written"] > 0
    for fmt in FeedFormat:
        assert titles(stack, fmt.filename) == LIVE_TITLES
        head = stack.s3.head_object(Bucket=stack.feeds_bucket, Key=fmt.filename)
        assert head["ContentType"] == fmt.content_type
    assert json.loads(json.dumps(summary)) == summary
    metrics = metric_values(capsys.readouterr().out)
    assert metrics["ArticlesRejected"] == 0
    assert metrics["ArticlesIndexed"] == 10
    assert stack.s3.head_object(Bucket=stack.content_bucket, Key="_reindex/run-1/feeds.json")


def test_render_batches_leave_the_directory_to_one_step_after_them(stack: Stack) -> None:
    """Each render batch hands its feeds' listings on (under the run's folder) instead of
    writing the directory; the directory step writes it once, listing every feed."""
    context = FakeLambdaContext()
    reindex.begin({}, context)
    listing = stack.s3.list_objects_v2(Bucket=stack.content_bucket, Prefix="articles/")
    reindex.index({"Items": [{"Key": o["Key"]} for o in listing["Contents"]]}, context)
    where = reindex.plan({"execution": "run-2"}, context)
    feeds = json.loads(stack.s3.get_object(**where)["Body"].read())
    assert {item["execution"] for item in feeds} == {"run-2"}
    for start in range(0, len(feeds), 3):
        reindex.render({"Items": feeds[start : start + 3]}, context)
    found = stack.s3.list_objects_v2(Bucket=stack.feeds_bucket, Prefix="directory.json")
    assert "Contents" not in found  # no batch wrote it
    kept = stack.s3.list_objects_v2(Bucket=stack.content_bucket, Prefix="_reindex/run-2/listings/")
    assert len(kept["Contents"]) == -(-len(feeds) // 3)

    summary = reindex.directory({"execution": "run-2"}, context)
    listed = {f["id"] for f in json.loads(stack.feed("directory.json"))["feeds"]}
    planned = {item["feed"] for item in feeds if not item["feed"].startswith("archive:")}
    assert listed == planned
    assert summary == {"feeds_listed": len(planned), "written": 3}


def test_reindex_reports_bad_articles_and_publishes_the_rest(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.put_article("articles/broken.md", b'---\ntitle: "Broken\n---\n\nBody.\n')

    summary = run_reindex(stack)

    assert summary["rejected"] == 1
    assert titles(stack, "rss.xml") == LIVE_TITLES
    assert metric_values(capsys.readouterr().out)["ArticlesRejected"] == 1
    report = stack.s3.get_object(
        Bucket=stack.content_bucket, Key="_reports/articles/broken.md.json"
    )
    assert json.loads(report["Body"].read())["key"] == "articles/broken.md"


def test_reindex_recovers_a_lost_delete_and_is_safe_to_run_again(stack: Stack) -> None:
    run_reindex(stack)
    # The delete event of this article was lost: the index and feeds still show it.
    stack.s3.delete_object(
        Bucket=stack.content_bucket, Key="articles/council-delays-budget-vote.md"
    )

    first = run_reindex(stack)
    again = run_reindex(stack)

    assert titles(stack, "rss.xml") == LIVE_TITLES - {"Council delays budget vote by a week"}
    assert titles(stack, "tags/politics/atom.xml") == set()
    assert first["removed"] == 1 and again["removed"] == 0
    assert again["feeds_written"] == 0


def test_reindex_picks_up_an_article_whose_event_was_lost(stack: Stack) -> None:
    run_reindex(stack)
    text = (CONTENT / "articles" / "council-delays-budget-vote.md").read_text(encoding="utf-8")
    stack.put_article(
        "articles/council-budget-vote-held.md",
        text.replace("Council delays budget vote by a week", "Council budget vote held")
        .replace("2024-06-14", "2024-06-21")
        .encode(),
    )

    run_reindex(stack)

    for fmt in FeedFormat:
        assert titles(stack, fmt.filename) == LIVE_TITLES | {"Council budget vote held"}


def test_reindex_before_site_yaml_fails_at_its_first_step_and_says_why(
    lambda_stack: Stack,
) -> None:
    lambda_stack.put_article(
        "articles/now.md", b"---\ntitle: Now\npublished: 2026-01-01\n---\n\nHere.\n"
    )

    with pytest.raises(SiteConfigMissingError, match="not found in the content bucket"):
        reindex.begin({}, FakeLambdaContext())

    assert lambda_stack.s3.list_objects_v2(Bucket=lambda_stack.feeds_bucket)["KeyCount"] == 0


def test_an_invalid_site_yaml_fails_the_run_before_anything_changes(stack: Stack) -> None:
    stack.s3.put_object(Bucket=stack.content_bucket, Key="site.yaml", Body=b"title: [unclosed\n")

    with pytest.raises(SiteConfigError):
        reindex.begin({}, FakeLambdaContext())

    assert stack.s3.list_objects_v2(Bucket=stack.feeds_bucket)["KeyCount"] == 0


def test_a_batch_skips_what_is_not_an_article(stack: Stack) -> None:
    stack.put_article("articles/.hidden.md", b"---\ntitle: Hidden draft of a draft\n---\nx\n")

    summary = run_reindex(stack)

    assert summary["skipped"] == 1
    assert summary["articles"] == 10
    assert titles(stack, "rss.xml") == LIVE_TITLES


def test_feeds_a_failed_render_batch_wrote_are_announced(stack: Stack, hub: Hub) -> None:
    # The state machine retries the batch, which rewrites only what failed: the feeds this
    # attempt wrote are told now or never.
    use_hub(stack, hub)
    failed = fail_put_once(stack, key="rss.xml")

    with pytest.raises(TransientStorageError):
        run_reindex(stack)

    assert failed == ["rss.xml"]
    (ping,) = hub.pings
    assert "https://englishnews.example/feeds/atom.xml" in ping["hub.url"]
