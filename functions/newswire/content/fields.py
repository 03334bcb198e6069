"""An article's fields, each read and checked by :class:`FieldReader`.

What a writer gets wrong in one field becomes a problem naming it, and the other fields are
still read; :mod:`newswire.content.articles` reads the file and puts the fields together.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from newswire.domain.model import (
    MAX_REASON_CHARS,
    Correction,
    Image,
    Person,
    Source,
    Tag,
    rfc3339,
)
from newswire.domain.text import clean_plain_text, clean_xml_text
from newswire.errors import MAX_QUOTED_CHARS, InvalidArticleError, Problem, quoted, shortened

#: An article is indexed in one DynamoDB transaction (at most 100 items): one membership per
#: feed it is in, and as many again when it moves. These bounds keep every article within it
#: (corrections' is the most a reader would read at the end of one article).
MAX_ITEMS = {"tags": 30, "authors": 10, "corrections": 50}
#: The largest image length an article may give: the largest whole number every JSON reader
#: holds exactly (JavaScript's), and far beyond any real file.
MAX_IMAGE_LENGTH = 2**53 - 1
#: The largest image side an article may give: beyond any real image, within every reader's int.
MAX_PIXELS = 65535

#: The length of a date alone, ``2024-06-14``, which :func:`parse_datetime` reads as midnight.
_DATE_ONLY_CHARS = 10
_ISO_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?")
_EXPECTED_DATE = "an ISO 8601 date such as 2022-02-25T14:30:00+03:00"

T = TypeVar("T")
#: ``datetime`` as :class:`FieldReader`'s annotations name it, where ``datetime`` is its method.
_Time = datetime


class Withdrawal(NamedTuple):
    """``withdrawn`` as read: why, and when if its writer says (see
    :meth:`~newswire.domain.model.Article.withdrawal_date`)."""

    reason: str
    date: datetime | None


def _date_only(written: object) -> bool:
    """Whether a date field was written as a date alone (``2024-06-14``, read as midnight)."""
    return isinstance(written, str) and len(written.strip()) == _DATE_ONLY_CHARS


def kind(value: object) -> str:
    """What ``value`` is, in a writer's words ("mapping", not "dict")."""
    return {dict: "mapping", list: "list", str: "string", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


class FieldReader:
    """Reads typed fields out of a raw mapping, noting every mismatch as a problem.

    A field with a problem reads as absent (``None``, or no item), so the others are still
    checked and the writer learns every problem of the file at once.
    """

    def __init__(self, key: str, timezone: ZoneInfo) -> None:
        self.key = key
        self.timezone = timezone
        self.problems: list[Problem] = []

    def report(self, field: str, problem: str, expected: str) -> None:
        """Note a problem and read on."""
        self.problems.append(Problem(field, problem, expected))

    def error(self, field: str, problem: str, expected: str) -> InvalidArticleError:
        """The rejection for a problem that leaves nothing more to read, and those before it."""
        self.report(field, problem, expected)
        return self.rejection()

    def rejection(self) -> InvalidArticleError:
        return InvalidArticleError.of(self.key, self.problems)

    def decode(self, data: bytes) -> str:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise self.error(
                "file",
                f"byte 0x{data[e.start]:02x} at offset {e.start} is not UTF-8",
                "a UTF-8 text file",
            ) from e
        text = text.removeprefix("\ufeff")
        if b"\r" in data:  # most files have none: no two copies of every file (and the bytes
            # are searched with memchr, a text with typographic quotes character by character)
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    def check_unknown(self, fields: Mapping[object, Any], allowed: frozenset[str]) -> None:
        for name in fields:
            if not isinstance(name, str):
                self.report(
                    quoted(name), "field names must be text", "one of " + ", ".join(sorted(allowed))
                )
            elif name not in allowed:
                self.report(
                    shortened(name, MAX_QUOTED_CHARS),
                    f"unknown field{_did_you_mean(name, allowed)}",
                    "one of " + ", ".join(sorted(allowed)),
                )

    def text(self, fields: Mapping[str, Any], name: str, *, required: bool) -> str | None:
        value = fields.get(name)
        if value is None:
            if required:
                self.report(name, "is missing", "a non-empty text")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.report(name, f"is a {kind(value)}", "a text")
            return None
        text = clean_xml_text(str(value)).strip()
        if not text:
            if required:
                self.report(name, "is empty", "a non-empty text")
            return None
        return text

    def datetime(self, fields: Mapping[str, Any], name: str, *, required: bool) -> datetime | None:
        value = fields.get(name)
        if value is None:
            if required:
                self.report(name, "is missing", _EXPECTED_DATE)
            return None
        if not isinstance(value, str):
            self.report(name, f"is a {kind(value)}", _EXPECTED_DATE)
            return None
        try:
            return parse_datetime(value, self.timezone, on_error=ValueError)
        except ValueError as e:
            self.report(name, str(e), _EXPECTED_DATE)
            return None

    def url(self, fields: Mapping[str, Any], name: str) -> str | None:
        value = self.text(fields, name, required=False)
        if value is not None and not is_absolute_http_url(value):
            self.report(name, f"{quoted(value)} is not an absolute URL", "an absolute http(s) URL")
            return None
        return value

    def boolean(self, fields: Mapping[str, Any], name: str) -> bool:
        value = fields.get(name, False)
        if not isinstance(value, bool):
            self.report(name, f"{quoted(value)} is not true or false", "true or false")
            return False
        return value

    def items(
        self, fields: Mapping[str, Any], name: str, parse: Callable[[str, object], T | None]
    ) -> tuple[T, ...]:
        """A list field; a single value is accepted as a list of one."""
        value = fields.get(name)
        if value is None:
            return ()
        values = value if isinstance(value, list) else [value]
        most = MAX_ITEMS.get(name)
        if most is not None and len(values) > most:
            self.report(name, f"has {len(values)} entries", f"at most {most}")
            return ()
        parsed = (parse(f"{name}[{i}]", item) for i, item in enumerate(values))
        return tuple(item for item in parsed if item is not None)

    def _mapping(
        self, where: str, value: object, allowed: frozenset[str]
    ) -> Mapping[str, Any] | None:
        if not isinstance(value, dict):
            self.report(
                where, f"is a {kind(value)}", "a mapping with " + ", ".join(sorted(allowed))
            )
            return None
        unknown = [k for k in value if k not in allowed]
        for name in unknown:
            self.report(
                f"{where}.{shortened(str(name), MAX_QUOTED_CHARS)}",
                f"unknown field{_did_you_mean(str(name), allowed)}",
                "one of " + ", ".join(sorted(allowed)),
            )
        return None if unknown else value

    def person(self, where: str, value: object) -> Person | None:
        if isinstance(value, str):
            value = {"name": value}
        raw = self._mapping(where, value, frozenset({"name", "email", "url"}))
        if raw is None:
            return None
        found = len(self.problems)
        name = self.text(raw, "name", required=False)
        if name is None and len(self.problems) == found:
            self.report(f"{where}.name", "is missing or empty", "the author's name")
        email = self.text(raw, "email", required=False)
        if email is not None and not _EMAIL.fullmatch(email):
            self.report(
                f"{where}.email", f"{quoted(email)} is not an e-mail address", "name@example.com"
            )
        url = self._absolute_url(raw, where)
        if len(self.problems) > found:
            return None
        assert name is not None
        return Person(name=name, email=email, url=url)

    def _absolute_url(self, raw: Mapping[str, Any], where: str) -> str | None:
        """``raw``'s optional ``url``, reported unless it is an absolute http(s) URL."""
        url = self.text(raw, "url", required=False)
        if url is not None and not is_absolute_http_url(url):
            self.report(
                f"{where}.url", f"{quoted(url)} is not an absolute URL", "an absolute http(s) URL"
            )
        return url

    def tag(self, where: str, value: object) -> Tag | None:
        if (
            isinstance(value, bool)
            or not isinstance(value, str | int | float)
            or not str(value).strip()
        ):
            self.report(where, f"{quoted(value)} is not a tag", "a non-empty text such as world")
            return None
        name = " ".join(clean_xml_text(str(value)).split())
        if not name:
            self.report(where, f"{quoted(value)} has no printable text", "a tag such as world")
            return None
        return Tag.from_name(name)

    def source(self, where: str, value: object) -> Source | None:
        if isinstance(value, str):
            value = {"name": value}
        raw = self._mapping(where, value, frozenset({"name", "url"}))
        if raw is None:
            return None
        found = len(self.problems)
        name = self.text(raw, "name", required=False)
        if name is None and len(self.problems) == found:
            self.report(f"{where}.name", "is missing or empty", "the source's name, such as BBC")
        url = self._absolute_url(raw, where)
        if len(self.problems) > found:
            return None
        assert name is not None
        return Source(name=name, url=url)

    def correction(
        self, where: str, value: object, published: _Time | None = None
    ) -> Correction | None:
        """One ``{date, text}`` of ``corrections``: the date read as ``updated`` is (a date
        alone on the day of ``published`` read as ``published``, as a withdrawal's is), the
        text plain and non-empty."""
        raw = self._mapping(where, value, frozenset({"date", "text"}))
        if raw is None:
            return None
        found = len(self.problems)
        if "date" not in raw:
            self.report(f"{where}.date", "is missing", _EXPECTED_DATE)
        when = self.datetime(raw, "date", required=False)
        if when is not None and published is not None and _date_only(raw.get("date")):
            when = self.on_publication_day(when, published)
        text = self.text(raw, "text", required=False)
        if text is None and len(self.problems) == found:
            self.report(f"{where}.text", "is missing or empty", "what was corrected, as text")
        self.problems[found:] = [  # named by their place in the list
            p if p.field.startswith(where) else Problem(f"{where}.{p.field}", p.problem, p.expected)
            for p in self.problems[found:]
        ]
        if len(self.problems) > found or when is None or text is None:
            return None
        return Correction(when, clean_plain_text(text), when.astimezone(self.timezone).date())

    def on_publication_day(self, midnight: _Time, published: _Time) -> _Time:
        """A date written alone (``midnight`` of that day in the site's zone): on the day of
        ``published`` (``2026-10-28`` for an article published at 09:00 that day), it means
        "that day", not the midnight before the article was published, and is read as
        ``published``; any other day stays its midnight."""
        zone = self.timezone
        same_day = midnight.astimezone(zone).date() == published.astimezone(zone).date()
        return published if same_day and midnight < published else midnight

    def withdrawal(self, fields: Mapping[str, Any], published: _Time | None) -> Withdrawal | None:
        """``withdrawn`` (see :meth:`_withdrawal`), its date checked against ``published``: a
        date before it is a mistyped one (so a tombstone is never dated before its entry)."""
        withdrawn = self._withdrawal(fields, published)
        if withdrawn is None or withdrawn.date is None or published is None:
            return withdrawn
        if withdrawn.date >= published:
            return withdrawn
        self.report(
            "withdrawn.date",
            f"{rfc3339(withdrawn.date)} is before published ({rfc3339(published)})",
            "the time the article was withdrawn, at or after published (a date alone: the "
            "day of published or later)",
        )
        return withdrawn

    def expiry(self, fields: Mapping[str, Any], published: _Time | None) -> _Time | None:
        """``expires``, which must come after ``published``."""
        expires = self.datetime(fields, "expires", required=False)
        if expires is not None and published is not None and expires <= published:
            self.report(
                "expires",
                f"{rfc3339(expires)} is not after published ({rfc3339(published)})",
                "the time the article leaves its feeds, after published",
            )
        return expires

    def _withdrawal(self, fields: Mapping[str, Any], published: _Time | None) -> Withdrawal | None:
        """``withdrawn``: the reason, or ``{reason, date}`` (a date alone read by
        :meth:`on_publication_day`). The reason becomes one line of plain text (the
        tombstone's comment), cut to :data:`MAX_REASON_CHARS`: a withdrawal is never refused
        for its wording. ``None`` when the article is not withdrawn."""
        value = fields.get("withdrawn")
        if value is None:
            return None
        if isinstance(value, bool | list):
            self.report("withdrawn", f"is a {kind(value)}", _EXPECTED_WITHDRAWAL)
            return None
        plain = not isinstance(value, dict)
        if isinstance(value, str) and self._is_date(value):  # "withdrawn at": not a reason
            self.report(
                "withdrawn",
                f"{quoted(value)} is a date, not the reason",
                f'withdrawn: "<reason>", or withdrawn: {{reason: "<reason>", date: '
                f"{shortened(value.strip(), 40)}}} to date it",
            )
            return None
        raw = self._mapping("withdrawn", {"reason": value} if plain else value, _WITHDRAWAL)
        if raw is None:
            return None
        found = len(self.problems)
        reason = self.text(raw, "reason", required=False)
        if reason is None and len(self.problems) == found:
            self.report("reason", "is missing or empty", "the reason the article is withdrawn")
        when = self.datetime(raw, "date", required=False)
        self.problems[found:] = [  # named as written: the field, or the mapping's part
            Problem("withdrawn" if plain else f"withdrawn.{p.field}", p.problem, p.expected)
            for p in self.problems[found:]
        ]
        if reason is None or len(self.problems) > found:
            return None
        if when is not None and published is not None and _date_only(raw.get("date")):
            when = self.on_publication_day(when, published)
        return Withdrawal(shortened(clean_plain_text(reason), MAX_REASON_CHARS), when)

    def _is_date(self, value: str) -> bool:
        """Whether all of ``value`` reads as a date or date-time."""
        try:
            parse_datetime(value, self.timezone, on_error=ValueError)
        except ValueError:
            return False
        return True

    def image(self, fields: Mapping[str, Any]) -> Image | None:
        value = fields.get("image")
        if value is None:
            return None
        if isinstance(value, str):
            value = {"url": value}
        raw = self._mapping("image", value, _IMAGE_FIELDS)
        if raw is None:
            return None
        found = len(self.problems)
        url = self.text(raw, "url", required=False)
        if url is None and len(self.problems) == found:
            self.report(
                "image.url", "is missing", "the image's URL, absolute or relative to the article"
            )
        scheme = urlsplit(url).scheme if url is not None else ""
        if scheme and scheme not in ("http", "https"):
            self.report(
                "image.url", f"scheme {quoted(scheme)} is not allowed", "an http(s) or relative URL"
            )
        elif url is not None and has_white_space(url):
            # No URL holds white space (RFC 3986): readers and validators reject the enclosure.
            self.report(
                "image.url",
                f"{quoted(url)} contains white space",
                "an http(s) or relative URL, with a space written %20",
            )
        media_type = self.text(raw, "type", required=False)
        if media_type is not None and not _MEDIA_TYPE.fullmatch(media_type):
            self.report(
                "image.type",
                f"{quoted(media_type)} is not a media type",
                "a media type such as image/jpeg",
            )
        length = raw.get("length")
        if length is not None and (
            isinstance(length, bool)
            or not isinstance(length, int)
            or not 0 <= length <= MAX_IMAGE_LENGTH
        ):
            self.report(
                "image.length",
                f"{quoted(length)} is not a byte count",
                f"a whole number of bytes, at most {MAX_IMAGE_LENGTH}",
            )
        width, height = self._pixels(raw, "width"), self._pixels(raw, "height")
        credit, caption = self._image_text(raw, "credit"), self._image_text(raw, "caption")
        if len(self.problems) > found:
            return None
        assert url is not None
        return Image(
            url=url,
            alt=self.text(raw, "alt", required=False) or "",
            media_type=media_type,
            length=length,
            width=width,
            height=height,
            credit=credit,
            caption=caption,
        )

    def _image_text(self, raw: Mapping[str, Any], name: str) -> str | None:
        """``image.credit`` or ``image.caption``: one line of text, reported under its path."""
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int | float | None):
            self.report(f"image.{name}", f"is a {kind(value)}", "a text")
            return None
        return self.text(raw, name, required=False)

    def _pixels(self, raw: Mapping[str, Any], name: str) -> int | None:
        """``image.width`` or ``image.height``: a whole number of pixels, at least 1."""
        value = raw.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_PIXELS:
            self.report(
                f"image.{name}",
                f"{quoted(value)} is not a size in pixels",
                f"a whole number of pixels from 1 to {MAX_PIXELS}, such as 1200",
            )
            return None
        return value


_WITHDRAWAL = frozenset({"reason", "date"})
_EXPECTED_WITHDRAWAL = "the reason as text, or a mapping with reason and date"
_IMAGE_FIELDS = frozenset({"url", "alt", "type", "length", "width", "height", "credit", "caption"})
_EMAIL = re.compile(r"[^@\s<>()]+@[^@\s<>()]+\.[^@\s<>()]+")
_MEDIA_TYPE = re.compile(r"[a-z]+/[a-z0-9.+-]+")


def _did_you_mean(name: str, allowed: frozenset[str]) -> str:
    """`` (did you mean 'title'?)`` for a name close to an allowed one, else ``""``."""
    near = difflib.get_close_matches(name[:MAX_QUOTED_CHARS], allowed, n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def parse_datetime(
    value: str, timezone: ZoneInfo, on_error: Callable[[str], Exception]
) -> datetime:
    """Parse an ISO 8601 date or date-time, reading one without a zone in ``timezone``.

    A date alone means midnight in ``timezone``. Never silently UTC: a newsroom in London
    writing ``10:00`` means 10:00 London time.

    Raises:
        Exception: whatever ``on_error(problem)`` returns, for an unparseable or impossible date.
    """
    text = value.strip()
    if not _ISO_SHAPE.match(text):
        raise on_error(f"{quoted(value)} is not a date")
    try:
        if len(text) == _DATE_ONLY_CHARS:
            parsed = datetime.combine(date.fromisoformat(text), time())
        else:
            parsed = datetime.fromisoformat(text.replace(",", ".", 1) if "," in text else text)
    except ValueError as e:
        raise on_error(f"{quoted(value)} is not a possible date ({shortened(str(e), 120)})") from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as e:
        raise on_error(f"{quoted(value)} is out of range") from e


def is_absolute_http_url(value: str) -> bool:
    """Say whether ``value`` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not has_white_space(value)


def has_white_space(text: str) -> bool:
    """Whether ``text`` holds any character ``str.isspace`` calls white space (in C: splitting
    on white space leaves a non-empty text whole only if it has none)."""
    return bool(text) and text.split() != [text]
