"""``newswire serve`` logs its requests as CloudFront does, so ``newswire stats`` reads them."""

from __future__ import annotations

import json
import shutil
import stat
import urllib.request
from pathlib import Path

import pytest

from newswire.cli import main
from newswire.local.serve import LocalStack
from tests.support import cloudfront as cf
from tests.support.factories import CONTENT


def fetch(url: str, agent: str) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def test_stats_counts_the_readers_of_a_local_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    log = tmp_path / "state" / "access.log"
    with LocalStack(content, "127.0.0.1", 0, access_log=log) as stack:
        assert f"access log: {log}" in stack.banner()
        fetch(f"{stack.url}rss.xml", cf.NETNEWSWIRE)
        fetch(f"{stack.url}rss.xml", cf.NETNEWSWIRE)
        fetch(f"{stack.url}rss.xml", cf.FEEDLY.format(n=42))
        fetch(f"{stack.url}atom.xml", cf.CHROME)
        fetch(stack.url, cf.CHROME)  # the list of feeds: not a feed
    capsys.readouterr()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600  # readers' addresses: the owner's only
    assert log.read_text().startswith("#Version: 1.0\n#Fields: date time x-edge-location")
    assert main(["stats", str(log), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out) == {
        "feeds": {
            "/atom.xml": {
                "subscribers": 0, "hosted": {}, "individual": 0, "browsers": 1, "bots": 0,
                "requests": 1,
            },
            "/rss.xml": {
                "subscribers": 43, "hosted": {"Feedly": 42}, "individual": 1, "browsers": 0,
                "bots": 0, "requests": 3,
            },
        }
    }  # fmt: skip


def test_serve_takes_no_access_log_or_a_file_not_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = str(tmp_path / "access.log")
    with pytest.raises(SystemExit) as exited:
        main(["serve", str(tmp_path), "--access-log", log, "--no-access-log"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
