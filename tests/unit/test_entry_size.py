"""The index's limit on an entry's size, shared by the build and the pipeline."""

from __future__ import annotations

import random
import string
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.domain.model import Person, Tag
from newswire.errors import InvalidArticleError
from newswire.pipeline.ports import (
    _encoded_size_bound,
    check_entry_size,
    encode_entry,
)
from tests.support.factories import make_entry

#: Characters JSON writes longest: beyond the BMP (a surrogate pair of escapes), controls.
WIDE = st.characters(min_codepoint=0x10000) | st.sampled_from('\x01"\\\n\u2028é')


@given(
    content=st.text(WIDE, max_size=300),
    names=st.lists(st.text(WIDE, min_size=1, max_size=20), max_size=12),
)
def test_the_bound_is_never_below_the_encoded_size(content: str, names: list[str]) -> None:
    entry = replace(
        make_entry(),
        content_html=content,
        summary=content[:50],
        authors=tuple(Person(name, name, name) for name in names),
        tags=tuple(Tag(name, name) for name in names),
    )
    assert _encoded_size_bound(entry) >= len(encode_entry(entry))


def test_image_size_credit_and_caption_survive_the_index() -> None:
    from newswire.domain.model import Image
    from newswire.pipeline.ports import decode_entry

    image = Image("https://a.example/i.jpg", "alt", None, None, 800, 600, "Ann", "Ships")
    entry = make_entry(image=image)

    assert decode_entry(encode_entry(entry)) == entry
    # An image without them is stored as before they existed.
    assert "width" not in make_entry().to_dict()["image"]


def test_an_entry_the_index_cannot_hold_is_refused_naming_the_body() -> None:
    noise = "".join(random.Random(1).choices(string.ascii_letters + string.digits, k=600_000))
    check_entry_size("articles/a.md", make_entry(content_html="x" * 600_000))  # compresses
    with pytest.raises(InvalidArticleError) as raised:
        check_entry_size("articles/a.md", make_entry(content_html=noise))
    assert (raised.value.key, raised.value.field) == ("articles/a.md", "body")
