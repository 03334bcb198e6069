"""The front-matter fast path against PyYAML: the same value, or no answer at all."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from newswire.content import yamlio
from tests.support.corpus import generate_corpus
from tests.support.factories import CONTENT


def _pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=yamlio._StringDateLoader)


def _agrees_with_pyyaml(text: str) -> bool:
    """The fast path's answer, if it gives one, is PyYAML's, types and key order included;
    says whether it gave one."""
    fast = yamlio._simple_mapping(text)
    if fast is None:
        return False
    # repr, not ==: True == 1 and 1.0 == 1, but a feed field must get the type PyYAML gives.
    assert repr(fast) == repr(_pyyaml(text)), text
    return True


def _front_matter_of(text: str) -> str:
    return text.removeprefix("---\n").split("\n---", 1)[0]


def _front_matters(folder: Path) -> list[str]:
    return [_front_matter_of(p.read_text(encoding="utf-8")) for p in sorted(folder.rglob("*.md"))]


def test_the_content_folder_is_read_as_pyyaml_reads_it() -> None:
    texts = _front_matters(CONTENT / "articles")

    taken = [text for text in texts if _agrees_with_pyyaml(text)]

    # Those with nested mappings (authors with an email, an image, a dated withdrawal) are
    # PyYAML's.
    assert len(taken) >= len(texts) // 2
    nested = ("name:", "image:", "withdrawn:\n")
    assert all(any(n in t for n in nested) for t in texts if t not in taken)


def test_a_generated_corpus_takes_the_fast_path() -> None:
    texts = [
        _front_matter_of(data.decode("utf-8"))
        for key, data in generate_corpus(300, seed=7)
        if key.endswith(".md")
    ]

    assert len(texts) > 100
    assert all(_agrees_with_pyyaml(text) for text in texts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('title: "A & B"\npublished: 2022-02-25T10:00:00Z', {"title": "A & B"}),
        ("tags: [a, b]\ndraft: yes\nn: ~\ncount: +5", {"tags": ["a", "b"], "draft": True}),
        ("tags:\n  - 'it''s'\n  - x\nsection:", {"tags": ["it's", "x"], "section": None}),
        ("on: off\nnull: 1", {True: False, None: 1}),
        ("title: a long\n  title, folded\nn: 1", {"title": "a long title, folded"}),
        ("draft: yes\n  really", {"draft": "yes really"}),
    ],
)
def test_simple_front_matter_is_read_as_pyyaml_reads_it(
    text: str, expected: dict[str, Any]
) -> None:
    fast = yamlio._simple_mapping(text)

    assert fast is not None
    assert all(fast[key] == value for key, value in expected.items())
    assert _agrees_with_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "title: a\n\n  continued",  # a folded scalar with a line break kept
        'title: "a\\tb"',  # an escape
        "authors:\n  - name: A\n    email: a@example.org",  # a nested mapping
        "tags:\n  - a\n   - b",  # items out of line: PyYAML's error to report
        "n: 1.5\nm: 012\nx: 0x1f\ny: 1_000",  # floats and the other ints
        "a: &x 1\nb: *x",  # anchors
        "title: a # comment",  # comments after values
        "title: a\r\nsummary: b",  # CRLF
        "title: a\x85b",  # a line break YAML 1.1 knows
        "- a\n- b",  # not a mapping
        "tags: [a:b, c]",
        "",
    ],
)
def test_anything_else_is_left_to_pyyaml(text: str) -> None:
    assert yamlio._simple_mapping(text) is None


_KEYS = st.sampled_from(["title", "tags", "yes", "null", "on", "a_b", "x-y", "True", "NO"])
_SCALAR_TEXT = st.text(
    alphabet=st.sampled_from([*"aZ09 -:#'\"\\,[]{}!&*|>%@`~?.+=_\t", "é", "\x85", "\ufeff"]),
    max_size=12,
)
_VALUES = st.one_of(
    _SCALAR_TEXT,
    _SCALAR_TEXT.map(lambda t: f'"{t}"'),
    _SCALAR_TEXT.map(lambda t: f"'{t}'"),
    st.lists(_SCALAR_TEXT, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
    st.sampled_from(["yes", "~", "12", "+3", "-4", "1.5", "012", "2022-02-25", "=", "<<", ""]),
)


@st.composite
def _front_matter(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["entry", "block", "more", "comment", "blank", "junk"]))
        if kind == "entry":
            lines.append(f"{draw(_KEYS)}:{draw(st.sampled_from([' ', '  ', '']))}{draw(_VALUES)}")
        elif kind == "block":
            lines.append(f"{draw(_KEYS)}:")
            for _ in range(draw(st.integers(0, 3))):
                indent = draw(st.sampled_from(["", "  ", "   "]))
                lines.append(f"{indent}- {draw(_VALUES)}")
        elif kind == "more":
            lines.append(f"{draw(st.sampled_from([' ', '  ', '']))}{draw(_SCALAR_TEXT)}")
        elif kind == "comment":
            lines.append(draw(st.sampled_from(["# note", "  # indented", "#"])))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "  "])))
        else:
            lines.append(draw(_SCALAR_TEXT))
    return "\n".join(lines)


@given(_front_matter())
def test_generated_front_matter_is_read_as_pyyaml_reads_it_or_left_to_it(text: str) -> None:
    try:
        _pyyaml(text)
    except yaml.YAMLError:
        assert yamlio._simple_mapping(text) is None  # the error is PyYAML's to report
        return
    _agrees_with_pyyaml(text)


@given(st.text(max_size=60))
def test_any_text_is_read_as_pyyaml_reads_it_or_left_to_it(text: str) -> None:
    try:
        _pyyaml(text)
    except yaml.YAMLError:
        assert yamlio._simple_mapping(text) is None
        return
    _agrees_with_pyyaml(text)


def test_text_left_to_pyyaml_is_what_its_reader_refuses_and_the_other_line_breaks() -> None:
    # Every code point at once: the fast path must never read a character PyYAML's reader
    # refuses, nor a line break (other than "\n") or BOM that PyYAML treats specially.
    every = "".join(map(chr, range(0x110000)))
    refused = set(yaml.reader.Reader.NON_PRINTABLE.findall(every)) | set("\r\x85\u2028\u2029\ufeff")

    assert set(yamlio._NOT_SIMPLE_TEXT.findall(every)) == refused


def _nested_aliases(levels: int) -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    pairs = itertools.pairwise("abcdefghij"[:levels])
    lines += [f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in pairs]
    return "\n".join(lines)


def test_aliases_are_followed_within_the_limit() -> None:
    text = _nested_aliases(4)  # d holds 9**4 strings: 8,307 values in all

    assert len(yamlio.load_yaml(text)["d"][8][8][8]) == 9


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (_nested_aliases(5), f"aliases expand to more than {yamlio.MAX_EXPANDED_NODES} values"),
        (_nested_aliases(9), f"aliases expand to more than {yamlio.MAX_EXPANDED_NODES} values"),
        ("a: &x [*x]", "an alias refers to a value that holds it"),
        ("a: &x {b: [1, *x]}", "an alias refers to a value that holds it"),
        ("a: " + "1" * 5000, "4300 digits"),
    ],
)
def test_what_would_expand_without_end_is_refused(text: str, words: str) -> None:
    with pytest.raises(yaml.YAMLError, match=words):
        yamlio.load_yaml(text)
