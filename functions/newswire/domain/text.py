"""Text rules every field shares, whatever format it ends up in."""

from __future__ import annotations

import re

#: C0 controls other than tab, newline and carriage return, lone surrogates, U+FFFE and U+FFFF:
#: the characters XML 1.0 forbids even as character references.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_xml_text(text: str) -> str:
    """Remove every character that XML 1.0 forbids.

    A single NUL or lone surrogate in one article would make the whole feed unparseable for
    every subscriber, so the characters are dropped rather than reported.

    Args:
        text: any text.

    Returns:
        ``text`` without C0 controls (except tab, newline, carriage return), lone surrogates,
        U+FFFE and U+FFFF. Never raises.
    """
    if len(text) >= _LONG and clean_utf8(text) is not None:
        return text  # checked in C, faster than the regex on a long text
    return _XML_ILLEGAL.sub("", text)


#: Runs of whitespace, except no-break spaces, which writers use on purpose ("10 km", "« oui »").
WHITESPACE_RUNS = re.compile(r"[^\S\u00a0\u202f]+")


def clean_plain_text(text: str) -> str:
    """Make a one-line plain text (title, name, summary) XML-safe, whitespace collapsed.

    Idempotent: a name cleaned twice is the name cleaned once, so a feed named after an
    article and one named after its entry (already cleaned) get the same name.
    """
    text = clean_xml_text(text)
    if "\xa0" in text or "\u202f" in text:
        return WHITESPACE_RUNS.sub(" ", text).strip()
    # With no space to keep, runs are exactly what str.split cuts on (str.isspace, as the
    # regex's \s): the plain idiom does it, without the regex.
    return " ".join(text.split())


def first_xml_illegal(text: str) -> str | None:
    """The first character of ``text`` that XML 1.0 forbids, or ``None``: for fields that are
    refused, rather than cleaned, when they hold one."""
    found = _XML_ILLEGAL.search(text)
    return None if found is None else found[0]


#: From this length on, a text is checked by its UTF-8 bytes before any regex runs.
_LONG = 512
#: The C0 controls XML forbids, as bytes (UTF-8 encodes them as themselves, and no other
#: character's encoding holds a byte below 0x80).
_ILLEGAL_C0 = bytes(c for c in range(0x20) if c not in b"\t\n\r")


def clean_utf8(text: str) -> bytes | None:
    """``text`` in UTF-8 if it surely holds nothing XML forbids; ``None`` if it may (then
    :func:`clean_xml_text` it).

    Checked on the bytes, in C, and the bytes given back: a caller that needs them (cmark
    reads UTF-8) encodes a long text once. A lone surrogate cannot be encoded; U+FFFE and
    U+FFFF encode as ``EF BF BE`` and ``EF BF BF``, so a text with no ``EF`` byte holds
    neither (one that has is left to the regex).
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if 0xEF in data or len(data.translate(None, _ILLEGAL_C0)) != len(data):
        return None
    return data


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, plural unless it is one: ``1 item``, ``7 items``.

    Args:
        count: how many.
        noun: the noun for one.
        plural: the noun for several, when it is not ``noun`` + ``s``.
    """
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
