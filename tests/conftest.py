"""Shared fixtures for the whole suite."""

from __future__ import annotations

import pytest

from newswire.domain.model import SiteConfig
from tests.support.factories import make_site


@pytest.fixture
def site() -> SiteConfig:
    return make_site()


#: Fixtures shared across test folders.
pytest_plugins = ["tests.support.hub"]
