"""A build's worker processes: a worker that dies or fails stops the build with an error that
says so, instead of a hang or a half-written site; one job, or a platform that cannot fork,
builds in this process."""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime
from typing import Any

import pytest

import newswire.build
import newswire.buildworkers
from newswire.build import Batching, build_site
from newswire.content.site import parse_site
from newswire.domain.model import Article, Entry, SiteConfig
from tests.support.corpus import generate_corpus

NOW = datetime(2026, 11, 1, tzinfo=UTC)
#: Requests small enough that the corpus reaches the worker processes.
SMALL = Batching(files=8)


@pytest.fixture(scope="module")
def sources() -> list[tuple[str, bytes]]:
    return generate_corpus(40, seed=11)


def site() -> SiteConfig:
    yaml = b"title: Wire\ndescription: Workers\nbase_url: https://news.example.org/\nauthor: Desk\n"
    return parse_site("site.yaml", yaml)


def in_a_worker(monkeypatch: pytest.MonkeyPatch, act: Any) -> None:
    """Make rendering an entry call ``act()`` in a worker process (which inherits the patch),
    and render as usual in this one."""
    parent = os.getpid()
    real = newswire.buildworkers.prepare_article

    def prepare_article(key: str, data: bytes, config: SiteConfig) -> tuple[Article, Entry]:
        if os.getpid() != parent:
            act()
        return real(key, data, config)

    monkeypatch.setattr("newswire.buildworkers.prepare_article", prepare_article)


def test_a_worker_that_dies_stops_the_build_with_an_error_that_says_so(
    sources: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    in_a_worker(monkeypatch, lambda: os._exit(9))  # as the out-of-memory killer would end it

    with pytest.raises(RuntimeError, match="build worker died"):
        build_site(sources, site(), NOW, jobs=2, batching=SMALL)


def test_a_worker_that_fails_stops_the_build_with_its_error(
    sources: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a worker's own code raises past the per-file handling (an error in a file is that
    # file's rejection, see test_build_cache).
    def stop() -> None:
        raise SystemExit("no more")

    in_a_worker(monkeypatch, stop)

    with pytest.raises(RuntimeError, match=r"build worker failed: SystemExit: no more"):
        build_site(sources, site(), NOW, jobs=2, batching=SMALL)


@pytest.mark.parametrize(("jobs", "methods"), [(1, ["fork", "spawn"]), (3, ["spawn"])])
def test_one_job_or_no_fork_builds_in_this_process(
    sources: list[tuple[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
    jobs: int,
    methods: list[str],
) -> None:
    expected = {f.path: f.body for f in build_site(sources, site(), NOW).files}
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: methods)
    in_a_worker(monkeypatch, lambda: os._exit(9))

    report = build_site(sources, site(), NOW, jobs=jobs, batching=SMALL)

    assert {f.path: f.body for f in report.files} == expected
