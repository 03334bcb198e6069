"""YAML loading that is fast, safe and keeps dates as the writer typed them."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

from newswire.errors import shortened

_BaseLoader: type[yaml.SafeLoader]
try:  # libyaml: PyYAML's parser in C, where PyYAML was built with it
    _BaseLoader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


#: The most values (scalars, lists, mappings) a document may stand for once its aliases are
#: followed: far more than any front matter or site.yaml holds, far less than the millions a
#: few hundred bytes of nested aliases (a "billion laughs") expand to.
MAX_EXPANDED_NODES = 10_000


class _StringDateLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A safe loader that leaves timestamps as strings and refuses alias bombs.

    PyYAML would turn ``2022-02-25 10:00`` into a *naive* datetime (and silently shift aware
    ones to UTC); we parse dates ourselves so a value without a zone is read in the site's time
    zone and an impossible date gets a clear error.
    """

    def get_single_data(self) -> Any:
        """The document's value, once its node graph is known not to expand too far: every
        later step (validation, messages) walks values as if aliases were copies."""
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return self.construct_document(node)


def _check_expansion(root: yaml.Node) -> None:
    """Count the nodes ``root`` stands for with aliases followed, each shared node counted
    once per use but visited once (without recursion: nesting may be deep).

    Raises:
        yaml.YAMLError: the count passes :data:`MAX_EXPANDED_NODES`, or an alias refers to a
            node that holds it (a value that never ends).
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_counted = stack.pop()
        children = _children(node)
        if children_counted:
            open_nodes.discard(id(node))
            size = sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_EXPANDED_NODES:
                problem = f"aliases expand to more than {MAX_EXPANDED_NODES} values"
                raise _expansion_error(node, problem)
            continue
        if id(node) in sizes:
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise _expansion_error(child, "an alias refers to a value that holds it")
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _expansion_error(node: yaml.Node, problem: str) -> yaml.YAMLError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


_StringDateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely, with timestamps left as strings.

    Front matter is nearly always a handful of ``key: value`` lines, which
    :func:`_simple_mapping` reads without PyYAML's constructor (Python even over libyaml);
    anything else goes to PyYAML. Kept for its measured saving on a cold build (see
    benchmarks/RESULTS.md, "Measured choices").

    Raises:
        yaml.YAMLError: the text is not valid YAML (``problem_mark`` says where), or its
            aliases expand beyond :data:`MAX_EXPANDED_NODES` values.
    """
    try:
        simple = _simple_mapping(text)
        if simple is not None:
            return simple
        return yaml.load(text, Loader=_StringDateLoader)  # noqa: S506 - a SafeLoader subclass
    except ValueError as e:  # an integer of more than 4,300 digits, which int() refuses
        raise yaml.constructor.ConstructorError(None, None, str(e), None) from e


#: A top-level ``key: value`` line; the value is checked by :func:`_scalar`.
_ENTRY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?:[ ]+(.*?))?[ ]*")
#: An item of a block sequence (``- value``): its indentation, its value.
_ITEM = re.compile(r"([ ]*)-[ ]+(.*?)[ ]*")
#: A flow sequence of scalars, ``[a, "b"]``: items are split on commas, none may hold one.
_FLOW = re.compile(r"\[([^\[\]{}]*)\]")
#: A line continuing a plain scalar (stripped), that means the same on one line as PyYAML
#: reads it: no ": " or " #" inside, no ":" last, no tab.
_PLAIN_MORE = re.compile(r"(?:[^:#\t]|:(?! |$)|(?<! )#)+(?<!:)")
#: A plain scalar: the same, with no indicator first.
_PLAIN = re.compile(r"(?![-?:,\[\]{}#&*!|>'\"%@`])" + _PLAIN_MORE.pattern)
_DOUBLE_QUOTED = re.compile(r'"([^"\\]*)"')
_SINGLE_QUOTED = re.compile(r"'((?:[^']|'')*)'")
#: What PyYAML's reader refuses, the line breaks other than "\n" (which fold quoted scalars)
#: and a BOM (which it strips): text with any of these goes to PyYAML. Listed, not written as
#: the complement of what is allowed, which is slow to compile at every cold start.
_NOT_SIMPLE_TEXT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
)
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
#: What :func:`_scalar` gives for a value it does not simply know.
_UNSET: Any = object()


def _simple_mapping(text: str) -> dict[Any, Any] | None:
    """``text`` as PyYAML reads it, if it is a simple mapping; ``None`` if it is not.

    Simple: top-level ``key: value`` lines (comments and blank lines between them), where a
    value is a scalar (plain, possibly folded over indented lines as ``yaml.dump`` writes
    long ones, or quoted on one line without escapes), a flow sequence of one-line scalars,
    or, under an empty ``key:``, a block sequence of them. Scalars resolve as PyYAML's
    resolver says (dates stay strings); anything else (nested mappings, escapes, anchors,
    tags, floats…) is left to PyYAML, so the result never differs from its own (a
    differential test holds them together). The lines that continue a value are read here,
    in the loop; each ``key:`` line is read by :func:`_entry`.
    """
    if _NOT_SIMPLE_TEXT.search(text):
        return None
    mapping: dict[Any, Any] = {}
    key: Any = None
    items: list[Any] | None = None  # the block sequence under ``key``, if one may follow
    indent: str | None = None  # its items' indentation, once one is read
    plain: list[str] | None = None  # the lines of ``key``'s plain scalar, if it may go on
    for line in text.split("\n"):
        if not line.strip(" "):
            if plain is not None:
                return None  # a blank line inside a folded scalar: kept as a line break
            continue
        if line.lstrip(" ").startswith("#"):  # a comment, which ends a plain scalar
            if plain is not None and not _set_plain(mapping, key, plain):
                return None
            plain = None
            continue
        if items is not None and (item := _ITEM.fullmatch(line)):
            value = _scalar(item[2])
            if value is _UNSET or (indent is not None and item[1] != indent):
                return None
            indent = item[1]
            items.append(value)
            continue
        if plain is not None and line.startswith(" "):
            more = line.strip(" ")
            if more.startswith("-") or not _PLAIN_MORE.fullmatch(more):
                return None
            plain.append(more)
            continue
        if plain is not None and not _set_plain(mapping, key, plain):
            return None
        if items is not None and not items:
            mapping[key] = None  # "key:" with nothing under it
        entry = _entry(mapping, line)
        if entry is None:
            return None
        key, items, plain = entry
        indent = None
    if plain is not None and not _set_plain(mapping, key, plain):
        return None
    if items is not None and not items:
        mapping[key] = None
    return mapping or None


def _entry(
    mapping: dict[Any, Any], line: str
) -> tuple[Any, list[Any] | None, list[str] | None] | None:
    """Read the ``key: value`` line ``line`` into ``mapping``; ``None`` if it is not simple.

    Returns:
        Its key, with the list its block sequence's items go in (an empty ``key:``), or the
        first line of its plain scalar (which may go on over the next lines); a quoted
        scalar or a flow sequence is set in ``mapping`` at once.
    """
    entry = _ENTRY.fullmatch(line)
    if entry is None:
        return None
    key = _key(entry[1])
    if key is _UNSET:
        return None
    value_text = entry[2]
    if not value_text:
        items: list[Any] = []
        mapping[key] = items
        return key, items, None
    if value_text.startswith("["):
        value = _flow_sequence(value_text)
    elif value_text[0] in "'\"":
        value = _scalar(value_text)
    elif _PLAIN.fullmatch(value_text):
        return key, None, [value_text]
    else:
        return None
    if value is _UNSET:
        return None
    mapping[key] = value
    return key, None, None


def _set_plain(mapping: dict[Any, Any], key: Any, lines: list[str]) -> bool:
    """Set ``key`` to the plain scalar of ``lines`` (folded with spaces, as PyYAML folds
    lines with no blank one between); say whether its value is simply known."""
    value = _scalar(" ".join(lines))
    mapping[key] = value
    return value is not _UNSET


def _flow_sequence(text: str) -> list[Any] | Any:
    match = _FLOW.fullmatch(text)
    if match is None:
        return _UNSET
    inside = match[1].strip(" ")
    if not inside:
        return []
    values = []
    for raw in inside.split(","):
        part = raw.strip(" ")
        if part[:1] not in ("'", '"') and (":" in part or "#" in part):
            return _UNSET  # flow context reads ":" and "#" its own way
        value = _scalar(part)
        if value is _UNSET:
            return _UNSET
        values.append(value)
    return values


@lru_cache(maxsize=256)
def _key(text: str) -> Any:
    """A key (a plain scalar: the same few in every article)."""
    return _scalar(text)


def _scalar(text: str) -> Any:
    """One scalar as PyYAML constructs it, or ``_UNSET`` if that is not simply known."""
    first = text[:1]
    if first == '"':
        quoted = _DOUBLE_QUOTED.fullmatch(text)
        return _UNSET if quoted is None else quoted[1]
    if first == "'":
        quoted = _SINGLE_QUOTED.fullmatch(text)
        return _UNSET if quoted is None else quoted[1].replace("''", "'")
    if not _PLAIN.fullmatch(text):
        return _UNSET
    tag = _resolve(text)
    if tag == "str":
        return text
    if tag == "bool":
        return yaml.constructor.SafeConstructor.bool_values[text.lower()]
    if tag == "null":
        return None
    if tag == "int" and _DECIMAL.fullmatch(text):
        return int(text)
    return _UNSET  # floats, octal and sexagesimal ints, merge keys…: PyYAML's to read


def _resolve(value: str) -> str:
    """The last part of the tag PyYAML's resolver gives a plain scalar (``str`` when none)."""
    resolvers = _StringDateLoader.yaml_implicit_resolvers
    for tag, regexp in (*resolvers.get(value[0], ()), *resolvers.get(None, ())):
        if regexp.match(value):
            return str(tag).rpartition(":")[2]
    return "str"


def describe_yaml_error(error: yaml.YAMLError, line_offset: int = 0) -> str:
    """Say what is wrong with a YAML text and where, in a writer's terms."""
    mark = getattr(error, "problem_mark", None)
    problem = shortened(getattr(error, "problem", None) or str(error).splitlines()[0], 200)
    if mark is None:
        return f"invalid YAML ({problem})"
    return (
        f"invalid YAML at line {mark.line + 1 + line_offset}, column {mark.column + 1} ({problem})"
    )
