"""Shared fixtures for the whole suite."""

from __future__ import annotations

import pytest
from hypothesis import settings

from newswire.domain.model import SiteConfig
from newswire.local.moto_server import serialise_in_process_moto
from tests.support.factories import make_site

# The publisher sends requests from several threads; moto's backends take one at a time.
serialise_in_process_moto()

# No per-example deadline: speed is measured by benchmarks, and a deadline fails property tests
# at random on a loaded two-core CI machine.
settings.register_profile("newswire", deadline=None)
settings.load_profile("newswire")


@pytest.fixture
def site() -> SiteConfig:
    return make_site()


#: Fixtures shared across test folders.
pytest_plugins = ["tests.support.hub"]
