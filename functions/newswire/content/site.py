"""Reading ``site.yaml``: what every feed of the site shares."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from newswire.content.articles import is_absolute_http_url
from newswire.content.yamlio import describe_yaml_error, load_yaml
from newswire.domain.model import Person, SiteConfig, SocialLink
from newswire.errors import SiteConfigError

SITE_CONFIG_KEY = "site.yaml"

_ErrorFactory = Callable[[str, str, str], SiteConfigError]

_FIELDS = frozenset(
    {
        "title",
        "description",
        "base_url",
        "feeds_url",
        "language",
        "timezone",
        "author",
        "items_per_feed",
        "max_feed_bytes",
        "social",
        "hub",
    }
)


def parse_site(key: str, data: bytes) -> SiteConfig:
    """Validate and parse ``site.yaml``.

    Args:
        key: the file's path or S3 key (for error messages).
        data: the file's bytes.

    Returns:
        The site configuration, with ``base_url`` and ``feeds_url`` ending in ``/``.

    Raises:
        SiteConfigError: the file is not valid; the message names the field.
    """

    def error(field: str, problem: str, expected: str) -> SiteConfigError:
        return SiteConfigError(key, field, problem, expected)

    try:
        raw = load_yaml(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise error("file", f"byte at offset {e.start} is not UTF-8", "a UTF-8 text file") from e
    except yaml.YAMLError as e:
        raise error("file", describe_yaml_error(e), "valid YAML") from e
    if not isinstance(raw, dict):
        raise error("file", "is not a mapping", "field: value lines")
    for name in raw:
        if name not in _FIELDS:
            near = difflib.get_close_matches(str(name), _FIELDS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise error(str(name), f"unknown field{hint}", "one of " + ", ".join(sorted(_FIELDS)))

    def text(name: str, default: str | None = None) -> str:
        value = raw.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise error(name, "is missing or empty", "a non-empty text")
        return value.strip()

    def url(name: str, default: str | None = None) -> str:
        value = text(name, default)
        if not is_absolute_http_url(value):
            raise error(name, f"{value!r} is not an absolute URL", "an absolute http(s) URL")
        return value if value.endswith("/") else value + "/"

    def positive(name: str, default: int) -> int:
        value = raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise error(name, f"{value!r} is not a positive whole number", "a whole number ≥ 1")
        return value

    base_url = url("base_url")
    tz_name = text("timezone", "UTC")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise error(
            "timezone",
            f"{tz_name!r} is not a known time zone",
            "an IANA name such as Europe/London",
        ) from e
    return SiteConfig(
        title=text("title"),
        description=text("description"),
        base_url=base_url,
        feeds_url=url("feeds_url", base_url + "feeds/"),
        language=text("language", "en"),
        timezone=timezone,
        author=_person(raw.get("author"), error),
        items_per_feed=positive("items_per_feed", 50),
        max_feed_bytes=positive("max_feed_bytes", 1024 * 1024),
        social=_social(raw.get("social"), error),
        hubs=_hubs(raw.get("hub"), error),
    )


def _person(value: Any, error: _ErrorFactory) -> Person:
    if isinstance(value, str) and value.strip():
        return Person(name=value.strip())
    if (
        not isinstance(value, Mapping)
        or not isinstance(value.get("name"), str)
        or not value["name"].strip()
    ):
        raise error(
            "author", "is missing or has no name", "a mapping with name, and optional email and url"
        )
    email, link = value.get("email"), value.get("url")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        raise error("author.email", f"{email!r} is not an e-mail address", "name@example.com")
    if link is not None and (not isinstance(link, str) or not is_absolute_http_url(link)):
        raise error("author.url", f"{link!r} is not an absolute URL", "an absolute http(s) URL")
    return Person(name=value["name"].strip(), email=email, url=link)


def _social(value: Any, error: _ErrorFactory) -> tuple[SocialLink, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise error("social", "is not a list", "a list of {name, url}")
    links = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise error(f"social[{i}]", "has no name", "a mapping with name and url")
        link = item.get("url")
        if not isinstance(link, str) or not is_absolute_http_url(link):
            raise error(
                f"social[{i}].url", f"{link!r} is not an absolute URL", "an absolute http(s) URL"
            )
        links.append(SocialLink(name=item["name"], url=link))
    return tuple(links)


def _hubs(value: Any, error: _ErrorFactory) -> tuple[str, ...]:
    """``hub``: one WebSub hub URL, or a list of them."""
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    for i, hub in enumerate(values):
        if not isinstance(hub, str) or not is_absolute_http_url(hub):
            where = "hub" if not isinstance(value, list) else f"hub[{i}]"
            raise error(where, f"{hub!r} is not an absolute URL", "a WebSub hub URL")
    return tuple(values)
