"""How deep rendered HTML nests, counted as the sanitiser's HTML parser would open it.

A body nested past :data:`MAX_NESTING` is refused before it reaches the parser, whose time
grows with depth times tags.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Final

#: The deepest nesting of elements a rendered body may have (as :func:`nests_deeper_than`
#: counts it). The sanitiser's HTML parser (html5ever) looks through the open elements for each tag
#: it opens, so its time grows with depth times tags (1 MB of nested ``<div>`` took half a
#: minute), and Markdown nested deeply is slow to search for a summary. Browsers stop nesting
#: at 512 (Blink's parser); no article needs half of it.
MAX_NESTING = 256

#: A start or end tag (its name and attributes), or a comment (skipped: it may hold anything).
_TAG_OR_COMMENT = re.compile(r"<(/?)([A-Za-z][^\s/>]*)([^>]*)|<!--.*?(?:-->|\Z)", re.S)
#: The same, but an element with only text inside (``<em>x</em>``) is matched whole as a leaf,
#: and a tag followed by more of its kind (same name and slash, with only text between) is
#: matched with them as one run: deep nesting is long runs (a quote nested 254 deep renders
#: 254 ``<blockquote>`` in a row), and a run or a leaf costs one step instead of one per tag.
#: Each tag in a run after the first has no ``<`` in its attributes, so the run's ``<`` count
#: them.
_TAG_RUN_OR_COMMENT = re.compile(
    r"<(?P<leaf>[A-Za-z][^\s/>]*)(?![^\s/>])(?P<leaf_attributes>[^>]*)>[^<]*"
    r"</(?P=leaf)(?![^\s/>])[^>]*"
    r"|<(?P<slash>/?)(?P<name>[A-Za-z][^\s/>]*)(?P<attributes>[^>]*)"
    r"(?P<more>(?:[^<]*<(?P=slash)(?P=name)(?![^\s/>])[^<>]*(?=>|\Z))*)"
    r"|<!--.*?(?:-->|\Z)",
    re.S,
)


#: Elements that never deepen the tree the parser builds: void elements, and table and list
#: parts whose next sibling closes them. They close no formatting element either: outside
#: their table or list the parser ignores them, so counting them as nothing is never lenient.
_NOT_NESTING = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "tr", "td", "th", "thead", "tbody", "tfoot", "caption", "colgroup",
        "option", "optgroup", "rp", "rt",
    }
)  # fmt: skip
#: Elements whose start tag closes an open one of these kinds first (``<p>a<p>b`` and
#: ``<li>a<li>b`` are siblings, not nested), with the formatting elements inside it.
_CLOSES_SIBLING: Final = {"p": ("p",), "li": ("li",), "dt": ("dt", "dd"), "dd": ("dt", "dd")}
#: HTML's formatting elements: the parser keeps them in a list of its own, reopens them after
#: a block that closed them, and keeps blocks open across their misnested end tags.
_FORMATTING = frozenset(
    {
        "a",
        "b",
        "big",
        "code",
        "em",
        "font",
        "i",
        "nobr",
        "s",
        "small",
        "strike",
        "strong",
        "tt",
        "u",
    }
)
#: How many identical formatting elements the parser's list keeps (HTML's "Noah's Ark" rule).
_NOAHS_ARK = 3


def nests_deeper_than(markup: str, limit: int) -> bool:
    """Say whether the HTML parser would hold more than ``limit`` elements open at once in
    ``markup``, or more than ``limit`` formatting elements left unclosed.

    One pass over the tags, no tree built, following the parser's rules closely enough to be
    no more lenient: an end tag closes the elements above the innermost open one of its name
    (and nothing if none is open); a formatting element's end tag closes it only when it is
    the innermost element (otherwise the parser keeps what follows open); paragraph, item and
    cell tags, which close their open siblings, close the formatting elements within them, but
    those stay on the parser's list to be reopened, and are counted apart.
    """
    if markup.count("<") <= limit:  # too few tags to pass the limit: most bodies
        return False
    nesting = _Nesting()
    for run in _TAG_RUN_OR_COMMENT.finditer(markup):
        if (leaf := run["leaf"]) is not None:
            name = leaf.lower()
            if name in _CLOSES_SIBLING:
                nesting.close_open(_CLOSES_SIBLING[name])
            if name not in _NOT_NESTING and nesting.leaf(name, run["leaf_attributes"]) > limit:
                return True
            continue
        if run["name"] is None:
            continue
        name = run["name"].lower()
        count = 1 + run["more"].count("<")
        if name in _NOT_NESTING:
            continue
        if name in _CLOSES_SIBLING:  # tag by tag: each start closes the last, each end its own
            for _ in range(count):
                nesting.close_open((name,) if run["slash"] else _CLOSES_SIBLING[name])
                if not run["slash"] and nesting.start_many(name, 1) > limit:
                    return True
        elif name in _FORMATTING:  # each one's attributes count: tag by tag
            tags = [(run["slash"], run["attributes"])]
            if count > 1:
                tags = [(t[1], t[3]) for t in _TAG_OR_COMMENT.finditer(markup, *run.span())]
            for slash, attributes in tags:
                if slash:
                    nesting.end(name)
                elif nesting.start(name, attributes) > limit:
                    return True
        elif run["slash"]:
            nesting.end_many(name, count)
        elif nesting.start_many(name, count) > limit:
            return True
    return False


#: The tags cmark writes for a body with no raw HTML, and what each adds to the nesting.
_CMARK_TAG_STEPS: Final = {
    f"{slash}{name}": (0 if name in _NOT_NESTING or name in _CLOSES_SIBLING else -1 if slash else 1)
    for slash in ("", "/")
    for name in (
        "p", "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
        "code", "em", "strong", "a", "img", "br", "hr",
    )
}  # fmt: skip
_TAG_NAME = re.compile(r"<(/?[A-Za-z][^\s/>]*)")


def cmark_tree_depth(rendered: str) -> int | None:
    """How deep the elements of cmark's output of a body with no raw HTML nest, counted as
    :func:`nests_deeper_than` counts (``None`` if it holds a tag cmark does not write then).

    Such output is a tree, each element closed after its children, and there
    :func:`nests_deeper_than` counts no deeper than the tree (its rules for misnested and
    unclosed markup only close elements sooner): the depth summed over the tags in C spares
    the tag-by-tag walk to all but trees deeper than the limit.
    """
    names = _TAG_NAME.findall(rendered)
    if not _CMARK_TAG_STEPS.keys() >= set(names):
        return None
    return max(accumulate(map(_CMARK_TAG_STEPS.__getitem__, names)), default=0)


class _Nesting:
    """The open elements and unclosed formatting elements of :func:`nests_deeper_than`."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.open_names: dict[str, int] = {}
        self.formatting: dict[str, list[str]] = {}  # name -> attributes of each left unclosed
        self.copies: dict[tuple[str, str], int] = {}
        self.unclosed = 0
        self.siblings = 0  # paragraphs and items on the stack: they hold no depth of their own

    def _depth(self) -> int:
        return len(self.stack) - self.siblings

    def _pop(self) -> str:
        name = self.stack.pop()
        self.open_names[name] -= 1
        self.siblings -= name in _CLOSES_SIBLING
        return name

    def start(self, name: str, attributes: str) -> int:
        """Open an element; return the larger count to hold against the limit."""
        if name in _CLOSES_ITS_OWN and self.formatting.get(name):
            self.end(name)  # a second link closes the first
        self.stack.append(name)
        self.open_names[name] = self.open_names.get(name, 0) + 1
        if name in _FORMATTING:
            self.formatting.setdefault(name, []).append(attributes)
            kind = (name, attributes)
            self.copies[kind] = self.copies.get(kind, 0) + 1
            self.unclosed += self.copies[kind] <= _NOAHS_ARK
        return max(self._depth(), self.unclosed)

    def end(self, name: str) -> None:
        if name in _FORMATTING:
            if self.formatting.get(name):
                kind = (name, self.formatting[name].pop())
                self.copies[kind] -= 1
                self.unclosed -= self.copies[kind] < _NOAHS_ARK
            if not self.stack or self.stack[-1] != name:
                return
        if self.open_names.get(name):
            while self._pop() != name:
                pass

    def leaf(self, name: str, attributes: str) -> int:
        """Open and close an element holding only text; return the count it reached.

        The two leave everything as it was, unless it is a second link, which closes the
        first.
        """
        if name in _CLOSES_ITS_OWN and self.formatting.get(name):
            reached = self.start(name, attributes)
            self.end(name)
            return reached
        unclosed = self.unclosed
        if name in _FORMATTING and self.copies.get((name, attributes), 0) < _NOAHS_ARK:
            unclosed += 1
        return max(self._depth() + (name not in _CLOSES_SIBLING), unclosed)

    def start_many(self, name: str, count: int) -> int:
        """Open ``count`` elements of a name that is not formatting; as :meth:`start`."""
        self.stack.extend([name] * count)
        self.open_names[name] = self.open_names.get(name, 0) + count
        self.siblings += count if name in _CLOSES_SIBLING else 0
        return max(self._depth(), self.unclosed)

    def end_many(self, name: str, count: int) -> None:
        """``count`` end tags of a name that is not formatting, as many :meth:`end`."""
        top = self.stack[-count:]
        if len(top) == count and top.count(name) == count:  # they close the innermost
            del self.stack[-count:]
            self.open_names[name] -= count
            return
        for _ in range(count):
            if not self.open_names.get(name):
                return
            self.end(name)

    def close_open(self, kinds: tuple[str, ...]) -> None:
        """Close the innermost open element of ``kinds`` and what is open inside it, if only
        formatting elements are: past any other element the parser may have closed it
        already (a ``<div>`` closes an open ``<p>``), and closing it here would count less
        than the parser nests."""
        for depth in range(len(self.stack) - 1, -1, -1):
            name = self.stack[depth]
            if name in kinds:
                while len(self.stack) > depth:
                    self._pop()
                return
            if name not in _FORMATTING:
                return


#: Formatting elements whose start tag closes an unclosed one of the same name.
_CLOSES_ITS_OWN = frozenset({"a", "nobr"})
