"""Shared fixtures for the whole suite."""

from __future__ import annotations

import pytest
from hypothesis import settings

from newswire.domain.model import SiteConfig
from tests.support.factories import make_site

# No per-example deadline: speed is measured by benchmarks, and a deadline fails property tests
# at random on a loaded two-core CI machine.
settings.register_profile("newswire", deadline=None)
settings.load_profile("newswire")


@pytest.fixture
def site() -> SiteConfig:
    return make_site()


#: Fixtures shared across test folders.
pytest_plugins = ["tests.support.hub"]
