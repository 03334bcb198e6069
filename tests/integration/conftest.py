"""Fixtures of the integration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.factories import CONTENT


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A copy of the repository's ``content/`` the test may change."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    return folder
