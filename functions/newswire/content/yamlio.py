"""YAML loading that is fast, safe and keeps dates as the writer typed them."""

from __future__ import annotations

from typing import Any

import yaml

_BaseLoader: type[yaml.SafeLoader]
try:  # libyaml is ~5x faster than the pure-Python parser on front matter
    _BaseLoader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


class _StringDateLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A safe loader that leaves timestamps as strings.

    PyYAML would turn ``2022-02-25 10:00`` into a *naive* datetime (and silently shift aware
    ones to UTC); we parse dates ourselves so a value without a zone is read in the site's time
    zone and an impossible date gets a clear error.
    """


_StringDateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely, with timestamps left as strings.

    Raises:
        yaml.YAMLError: the text is not valid YAML (``problem_mark`` says where).
    """
    return yaml.load(text, Loader=_StringDateLoader)  # noqa: S506 - a SafeLoader subclass


def describe_yaml_error(error: yaml.YAMLError, line_offset: int = 0) -> str:
    """Say what is wrong with a YAML text and where, in a writer's terms."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is None:
        return f"invalid YAML ({problem})"
    return (
        f"invalid YAML at line {mark.line + 1 + line_offset}, column {mark.column + 1} ({problem})"
    )
