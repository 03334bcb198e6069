"""Bad files against moto: refused by their size before they are read, and reported with
every problem, never retried."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from newswire.adapters.s3 import MAX_KEY_BYTES, S3ContentStore, report_key
from newswire.content.articles import MAX_FILE_BYTES
from newswire.content.site import MAX_SITE_BYTES
from newswire.errors import InvalidArticleError, SiteConfigError
from newswire.pipeline.changes import ArticleChange, normalise_sequencer
from tests.support.aws import Stack

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FIRST = normalise_sequencer("1")


def test_an_article_over_the_size_limit_is_refused_by_its_length(stack: Stack) -> None:
    key = stack.put_article("articles/video.md", b"x" * (MAX_FILE_BYTES + 1))

    with pytest.raises(InvalidArticleError) as caught:
        S3ContentStore(stack.s3, stack.content_bucket).get(key)

    assert (caught.value.key, caught.value.field) == (key, "file")
    assert caught.value.problem == f"{MAX_FILE_BYTES + 1} bytes is too large"


def test_a_site_yaml_over_the_size_limit_is_refused_by_its_length(stack: Stack) -> None:
    stack.put_article("site.yaml", b"#" * (MAX_SITE_BYTES + 1))

    with pytest.raises(SiteConfigError) as caught:
        S3ContentStore(stack.s3, stack.content_bucket).get("site.yaml")

    assert caught.value.field == "file"


@pytest.mark.parametrize(
    ("key", "body", "field"),
    [
        ("articles/video.md", b"x" * (MAX_FILE_BYTES + 1), "file"),
        (
            "articles/deep.json",
            b'{"title": "T", "published": "2024-01-01", "summary": '
            + b"[" * 2000
            + b"]" * 2000
            + b"}",
            "file",
        ),
        ("articles/" + "a" * 1000 + ".md", b"---\ntitle: T\npublished: 2024-01-01\n---\n", "slug"),
        (
            "articles/long-id.md",
            b"---\ntitle: T\npublished: 2024-01-01\nid: urn:x:" + b"a" * 1000 + b"\n---\n",
            "id",
        ),
        ("articles/no-body.json", b'{"title": "T", "published": "2024-01-01"}', "body"),
    ],
)
def test_a_bad_article_is_rejected_and_reported_not_retried(
    stack: Stack, key: str, body: bytes, field: str
) -> None:
    stack.put_article(key, body)

    outcome = stack.publisher(clock=lambda: NOW).publish(ArticleChange(key, False, FIRST))

    assert outcome.action == "rejected"
    assert outcome.error is not None and outcome.error.field == field
    report = json.loads(
        stack.s3.get_object(Bucket=stack.content_bucket, Key=report_key(key))["Body"].read()
    )
    assert report["field"] == field


def test_the_report_lists_every_problem(stack: Stack) -> None:
    key = stack.put_article(
        "articles/two-mistakes.md", b"---\ntitle: ''\npublished: next Tuesday\n---\n\nBody.\n"
    )

    outcome = stack.publisher(clock=lambda: NOW).publish(ArticleChange(key, False, FIRST))

    assert outcome.action == "rejected"
    report = json.loads(
        stack.s3.get_object(Bucket=stack.content_bucket, Key=report_key(key))["Body"].read()
    )
    assert [problem["field"] for problem in report["problems"]] == ["title", "published"]
    assert report["problems"][1] == {
        "field": "published",
        "problem": "'next Tuesday' is not a date",
        "expected": "an ISO 8601 date such as 2022-02-25T14:30:00+03:00",
    }
    assert report["message"].splitlines() == [
        f"{key}: title: is empty, expected a non-empty text",
        f"{key}: published: 'next Tuesday' is not a date, expected an ISO 8601 date such as "
        "2022-02-25T14:30:00+03:00",
    ]
    assert (report["field"], report["problem"]) == ("title", "is empty")


def _refuse_long_keys(params: dict[str, object], **_: object) -> None:
    """What S3 does and moto does not: refuse a key over 1,024 bytes."""
    key = str(params.get("Key", ""))
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ClientError(
            {
                "Error": {"Code": "KeyTooLongError", "Message": "Your key is too long"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            "PutObject",
        )


@pytest.mark.parametrize(
    "key", ["articles/" + "a" * 1000 + ".md", "articles/" + "Ä" * 500 + ".markdown"]
)
def test_an_article_key_near_the_s3_limit_still_gets_its_report(stack: Stack, key: str) -> None:
    stack.put_article(key, b"---\ntitle: T\npublished: 2024-01-01\n---\n")
    stack.s3.meta.events.register("before-call.s3.PutObject", _refuse_long_keys)

    outcome = stack.publisher(clock=lambda: NOW).publish(ArticleChange(key, False, FIRST))

    assert outcome.action == "rejected"
    assert len(report_key(key).encode("utf-8")) <= MAX_KEY_BYTES
    report = json.loads(
        stack.s3.get_object(Bucket=stack.content_bucket, Key=report_key(key))["Body"].read()
    )
    assert (report["key"], report["field"]) == (key, "slug")


def test_a_report_key_is_the_article_key_under_reports() -> None:
    assert report_key("articles/a.md") == "_reports/articles/a.md.json"
