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
    return _XML_ILLEGAL.sub("", text)
