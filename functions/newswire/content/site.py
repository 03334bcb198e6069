"""Reading ``site.yaml``: what every feed of the site shares."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from newswire.content.fields import is_absolute_http_url
from newswire.content.yamlio import describe_yaml_error, load_yaml
from newswire.domain.model import Person, SiteConfig, SocialLink
from newswire.domain.partners import Partner, PartnerFeed
from newswire.domain.text import first_xml_illegal
from newswire.errors import MAX_QUOTED_CHARS, Problem, SiteConfigError, quoted, shortened

SITE_CONFIG_KEY = "site.yaml"
#: A larger ``site.yaml`` is refused unread: the real one is a few hundred bytes.
MAX_SITE_BYTES = 1024 * 1024
#: Hubs a site may list: every change pings them all, within the publish function's timeout.
MAX_HUBS = 5

_Report = Callable[[str, str, str], None]

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
        "partners",
    }
)


def oversized_site(key: str, size: int) -> SiteConfigError | None:
    """The rejection of a ``site.yaml`` of ``size`` bytes if it is too large, else ``None``.

    Storage adapters ask before reading it, so a file of gigabytes is refused by its size.
    """
    if size <= MAX_SITE_BYTES:
        return None
    return SiteConfigError(key, "file", f"{size} bytes is too large", f"at most {MAX_SITE_BYTES}")


def parse_site(key: str, data: bytes) -> SiteConfig:
    """Validate and parse ``site.yaml``.

    Args:
        key: the file's path or S3 key (for error messages).
        data: the file's bytes.

    Returns:
        The site configuration, with ``base_url`` and ``feeds_url`` ending in ``/``.

    Raises:
        SiteConfigError: the file is not valid; it names every problem found (a file that is
            not YAML stops at that).
    """
    raw = _load_mapping(key, data)
    problems: list[Problem] = []

    def report(field: str, problem: str, expected: str) -> None:
        problems.append(Problem(field, problem, expected))

    _report_unknown_fields(raw, report)
    title = _text("title", raw.get("title"), report)
    description = _text("description", raw.get("description"), report)
    base_url = _url("base_url", raw.get("base_url"), report)
    # Without a base_url, a missing feeds_url has no default, and nothing new to report.
    feeds_url = (
        _url("feeds_url", raw.get("feeds_url", base_url + "feeds/"), report)
        if base_url is not None
        else _url("feeds_url", raw["feeds_url"], report)
        if "feeds_url" in raw
        else None
    )
    language = _text("language", raw.get("language", "en"), report)
    timezone = _timezone(_text("timezone", raw.get("timezone", "UTC"), report), report)
    author = _person(raw.get("author"), report)
    items_per_feed = _positive("items_per_feed", raw.get("items_per_feed", 50), report)
    max_feed_bytes = _positive("max_feed_bytes", raw.get("max_feed_bytes", 1024 * 1024), report)
    social = _social(raw.get("social"), report)
    hubs = _hubs(raw.get("hub"), report)
    partners = _partners(raw.get("partners"), report)
    if problems:
        raise SiteConfigError.of(key, problems)
    assert title and description and base_url and feeds_url and language  # else reported
    assert timezone is not None and author is not None
    assert items_per_feed is not None and max_feed_bytes is not None
    return SiteConfig(
        title=title,
        description=description,
        base_url=base_url,
        feeds_url=feeds_url,
        language=language,
        timezone=timezone,
        author=author,
        items_per_feed=items_per_feed,
        max_feed_bytes=max_feed_bytes,
        social=social,
        hubs=hubs,
        partners=partners,
    )


def _load_mapping(key: str, data: bytes) -> dict[Any, Any]:
    """The file's top-level mapping; anything that stops the reading of fields is raised."""
    if (too_large := oversized_site(key, len(data))) is not None:
        raise too_large
    try:
        raw = load_yaml(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise SiteConfigError(
            key, "file", f"byte at offset {e.start} is not UTF-8", "a UTF-8 text file"
        ) from e
    except yaml.YAMLError as e:
        raise SiteConfigError(key, "file", describe_yaml_error(e), "valid YAML") from e
    except RecursionError as e:  # the pure-Python parser, where libyaml is missing
        raise SiteConfigError(key, "file", "is nested too deeply", "field: value lines") from e
    if not isinstance(raw, dict):
        raise SiteConfigError(key, "file", "is not a mapping", "field: value lines")
    return raw


def _report_unknown_fields(raw: Mapping[Any, Any], report: _Report) -> None:
    """Each field newswire does not read, with the nearest known name: most are typos."""
    for name in raw:
        if name not in _FIELDS:
            near = difflib.get_close_matches(str(name)[:MAX_QUOTED_CHARS], _FIELDS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            report(
                shortened(str(name), MAX_QUOTED_CHARS),
                f"unknown field{hint}",
                "one of " + ", ".join(sorted(_FIELDS)),
            )


def _url(name: str, value: Any, report: _Report) -> str | None:
    """An absolute http(s) URL ending in ``/``, so feed paths can be joined to it."""
    text = _text(name, value, report)
    if text is None:
        return None
    if not is_absolute_http_url(text):
        report(name, f"{quoted(text)} is not an absolute URL", "an absolute http(s) URL")
        return None
    return text if text.endswith("/") else text + "/"


def _positive(name: str, value: Any, report: _Report) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        report(name, f"{quoted(value)} is not a positive whole number", "a whole number ≥ 1")
        return None
    return value


def _text(where: str, value: Any, report: _Report, *, required: bool = True) -> str | None:
    """A text field, stripped; ``None`` (and a problem, if ``required``) when absent.

    A character XML forbids is refused, not dropped as in articles: it would end up in every
    feed, and the file is the operator's to fix.
    """
    if value is None:
        if required:
            report(where, "is missing", "a non-empty text")
        return None
    if not isinstance(value, str):
        report(where, f"{quoted(value)} is not a text", "a non-empty text")
        return None
    if not value.strip():
        report(where, "is empty", "a non-empty text")
        return None
    if (char := first_xml_illegal(value)) is not None:
        report(
            where,
            f"contains the control character U+{ord(char):04X}",
            "a text without control characters (tab and line breaks aside)",
        )
        return None
    return value.strip()


def _timezone(name: str | None, report: _Report) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        report(
            "timezone",
            f"{quoted(name)} is not a known time zone",
            "an IANA name such as Europe/London",
        )
        return None


class _Tally:
    """A report function that also says whether it was called: an entry with any problem
    is left out, while its other problems are still found."""

    def __init__(self, report: _Report) -> None:
        self._report = report
        self.reported = False

    def __call__(self, field: str, problem: str, expected: str) -> None:
        self.reported = True
        self._report(field, problem, expected)


def _person(value: Any, report: _Report) -> Person | None:
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        report(
            "author", "is missing or has no name", "a mapping with name, and optional email and url"
        )
        return None
    tally = _Tally(report)
    name = _text("author.name", value.get("name"), tally)
    email = _text("author.email", value.get("email"), tally, required=False)
    if email is not None and "@" not in email:
        tally("author.email", f"{quoted(email)} is not an e-mail address", "name@example.com")
    link = _text("author.url", value.get("url"), tally, required=False)
    if link is not None and not is_absolute_http_url(link):
        tally("author.url", f"{quoted(link)} is not an absolute URL", "an absolute http(s) URL")
    if tally.reported or name is None:
        return None
    return Person(name=name, email=email, url=link)


def _social(value: Any, report: _Report) -> tuple[SocialLink, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        report("social", "is not a list", "a list of {name, url}")
        return ()
    links = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            report(f"social[{i}]", f"{quoted(item)} has no name", "a mapping with name and url")
            continue
        tally = _Tally(report)
        name = _text(f"social[{i}].name", item.get("name"), tally)
        link = _text(f"social[{i}].url", item.get("url"), tally)
        if link is not None and not is_absolute_http_url(link):
            tally(
                f"social[{i}].url",
                f"{quoted(link)} is not an absolute URL",
                "an absolute http(s) URL",
            )
        if not tally.reported and name is not None and link is not None:
            links.append(SocialLink(name=name, url=link))
    return tuple(links)


def _hubs(value: Any, report: _Report) -> tuple[str, ...]:
    """``hub``: one WebSub hub URL, or a list of them."""
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    if len(values) > MAX_HUBS:
        report("hub", f"{len(values)} hubs", f"at most {MAX_HUBS}")
    hubs = []
    for i, hub in enumerate(values):
        where = "hub" if not isinstance(value, list) else f"hub[{i}]"
        tally = _Tally(report)
        url = _text(where, hub, tally)
        if url is not None and not is_absolute_http_url(url):
            tally(where, f"{quoted(url)} is not an absolute URL", "a WebSub hub URL")
        if not tally.reported and url is not None:
            hubs.append(url)
    return tuple(hubs)


def _partners(value: Any, report: _Report) -> tuple[PartnerFeed, ...]:
    """``partners``: each partner to publish a feed for, by name, with its settings (a
    mapping, or nothing for none)."""
    if value is None:
        return ()
    known = [partner.value for partner in Partner]
    names = ", ".join(known)
    if not isinstance(value, Mapping):
        report("partners", f"is a {type(value).__name__}", f"a mapping of partner names ({names})")
        return ()
    feeds = []
    for name, given in value.items():
        where = f"partners.{shortened(str(name), MAX_QUOTED_CHARS)}"
        if name not in known:
            near = difflib.get_close_matches(str(name)[:MAX_QUOTED_CHARS], known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            report(where, f"unknown partner{hint}", f"one of {names}")
            continue
        partner = Partner(name)
        allowed = partner.rules.settings
        expected = (
            "one of " + ", ".join(sorted(allowed))
            if allowed
            else f"no setting ({partner.value} takes none)"
        )
        settings = {} if given is None else given
        if not isinstance(settings, Mapping):
            report(
                where, f"{quoted(settings)} is not a mapping", f"settings as a mapping: {expected}"
            )
            continue
        tally = _Tally(report)
        for setting in settings:
            if setting not in allowed:
                tally(
                    f"{where}.{shortened(str(setting), MAX_QUOTED_CHARS)}",
                    "unknown setting",
                    expected,
                )
        logo = None
        if "logo" in allowed:
            logo = _text(f"{where}.logo", settings.get("logo"), tally, required=False)
        if logo is not None and not is_absolute_http_url(logo):
            tally(f"{where}.logo", f"{quoted(logo)} is not an absolute URL", "the logo's URL")
        if not tally.reported:
            feeds.append(PartnerFeed(partner, logo))
    return tuple(sorted(feeds, key=lambda feed: list(Partner).index(feed.partner)))
