"""YAML text -> plain Python data that remembers where every value came from.

The document is built from PyYAML's event stream rather than ``yaml.compose``: the
composer recurses once per nesting level (deeply nested input crashes the C extension),
and events let us refuse Python-object tags, duplicate keys and alias bombs with a
location before any of them can do harm.

Mappings become :class:`LMap` and sequences :class:`LList`; both are ordinary ``dict`` /
``list`` objects that also carry the :class:`~cnnscope.errors.Location` of themselves, of
their keys and of their items.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from cnnscope.errors import Location, SpecError, clip

MAX_DEPTH = 64
MAX_SIZE = 5_000_000  # values, counting every alias expansion
MAX_INT = 10**18  # the largest integer (in magnitude) a spec may hold
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"

_SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:merge",
    "tag:yaml.org,2002:timestamp",
}
_MERGE = "tag:yaml.org,2002:merge"

try:  # libyaml's parser is ~10x faster; the pure-Python one gives the same events
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def _as_loc(where: Any, file: str | None) -> Location | None:
    """A :class:`Location` from a stored place: a Location already, or a parser mark.

    The builder keeps the parser's marks and makes Locations only when one is asked for
    (an error, a warning): a large spec has hundreds of thousands of values and few errors.
    """
    if where is None or isinstance(where, Location):
        return where
    return Location(file, where.line + 1, where.column + 1)


class LMap(dict):  # type: ignore[type-arg]
    """A mapping with locations: ``loc`` (its own), ``key_loc(k)`` and ``val_loc(k)``."""

    __slots__ = ("file", "key_locs", "loc", "val_locs")

    def __init__(self, loc: Location | None = None) -> None:
        super().__init__()
        self.loc = loc
        self.file = loc.file if loc is not None else None
        self.key_locs: dict[Any, Any] = {}  # Location or parser mark
        self.val_locs: dict[Any, Any] = {}

    def key_loc(self, key: Any) -> Location | None:
        return _as_loc(self.key_locs.get(key, self.loc), self.file)

    def val_loc(self, key: Any) -> Location | None:
        return _as_loc(self.val_locs.get(key, self.key_locs.get(key, self.loc)), self.file)


class LList(list):  # type: ignore[type-arg]
    """A sequence with locations: ``loc`` (its own) and ``item_loc(i)``."""

    __slots__ = ("file", "item_locs", "loc")

    def __init__(self, loc: Location | None = None) -> None:
        super().__init__()
        self.loc = loc
        self.file = loc.file if loc is not None else None
        self.item_locs: list[Any] = []  # Location or parser mark

    def item_loc(self, i: int) -> Location | None:
        if 0 <= i < len(self.item_locs):
            return _as_loc(self.item_locs[i] or self.loc, self.file)
        return self.loc


def _loc(mark: Any, file: str) -> Location:
    if mark is None:
        return Location(file)
    return Location(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.anchors: dict[str, Any] = {}
        self.sizes: dict[int, int] = {}
        self.total = 0
        # stack frames: [container, pending_key, pending_key_loc, size, merges]
        self.stack: list[list[Any]] = []
        self.root: Any = None
        self.root_set = False
        self.plain_cache: dict[str, Any] = {}  # plain scalars resolve by text alone

    # -- values -----------------------------------------------------------------------
    def scalar(self, ev: Any) -> Any:
        plain = ev.tag is None and ev.implicit[0] and not ev.style
        if plain and ev.value in self.plain_cache:
            return self.plain_cache[ev.value]
        value = self._scalar(ev)
        if plain and not isinstance(value, _MergeKey) and len(self.plain_cache) < 100_000:
            self.plain_cache[ev.value] = value
        return value

    def _scalar(self, ev: Any) -> Any:
        loc = _loc(ev.start_mark, self.file)
        tag = ev.tag
        if tag is None or tag == "!":
            tag = self.resolver.resolve(yaml.ScalarNode, ev.value, ev.implicit)  # type: ignore[no-untyped-call]
        if tag not in _SAFE_TAGS:
            raise _tag_error(tag, loc)
        if tag == _MERGE:
            return _MergeKey()
        if tag == _INT_TAG and len(ev.value) > 40:  # refused before Python converts 4,300 digits
            raise _too_big(ev.value, loc)
        node = yaml.ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark, ev.style)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise SpecError(
                "yaml-syntax", f"bad {tag.rsplit(':', 1)[-1]} value {ev.value[:80]!r}: {clip(str(exc), 200)}", loc
            ) from None
        finally:
            self.constructor.constructed_objects.clear()
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise _too_big(ev.value, loc)
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(
                "bad-value",
                f"`{ev.value[:80]}` is not a finite number",
                loc,
                "a spec's numbers are finite (no .inf, .nan, or 1e999)",
            )
        return value

    def add(self, value: Any, loc: Any, size: int = 1) -> None:
        """Place ``value`` (found at ``loc``: a Location or a parser mark) in its container."""
        self.total += size
        if self.total > MAX_SIZE:
            raise SpecError(
                "alias-bomb",
                f"the document expands to more than {MAX_SIZE:,} values",
                _as_loc(loc, self.file),
                "YAML anchors and aliases are expanded; reuse layers with `blocks:` instead",
            )
        if not self.stack:
            if self.root_set:
                raise SpecError("yaml-syntax", "expected one YAML document, found more", _as_loc(loc, self.file))
            self.root, self.root_set = value, True
            return
        frame = self.stack[-1]
        container = frame[0]
        frame[3] += size
        if isinstance(container, LList):
            container.append(value)
            container.item_locs.append(loc)
            return
        if frame[1] is _NOKEY:  # this value is a key
            if isinstance(value, _MergeKey):
                frame[1], frame[2] = value, loc
                return
            if isinstance(value, (dict, list)):
                raise SpecError("yaml-syntax", "mapping keys must be plain scalars", _as_loc(loc, self.file))
            if value in container:
                raise SpecError(
                    "duplicate-key",
                    f"key `{value}` appears twice in this mapping",
                    _as_loc(loc, self.file),
                    f"the first is at {container.key_loc(value)}" if value in container else None,
                )
            frame[1], frame[2] = value, loc
            return
        key = frame[1]
        if isinstance(key, _MergeKey):
            frame[4].append((key, (value, loc)))
        else:
            container[key] = value
            container.key_locs[key] = frame[2]
            container.val_locs[key] = loc
        frame[1] = _NOKEY

    def start(self, container: Any, ev: Any) -> None:
        if ev.tag not in (None, "!") and ev.tag not in _SAFE_TAGS:
            raise _tag_error(ev.tag, container.loc)
        if len(self.stack) >= MAX_DEPTH:
            raise SpecError("too-deep", f"the document nests more than {MAX_DEPTH} levels deep", container.loc)
        self.stack.append([container, _NOKEY, None, 1, []])
        if ev.anchor:
            self.anchors[ev.anchor] = container

    def end(self) -> None:
        container, _key, _kloc, size, merges = self.stack.pop()
        for _mk, (value, loc) in merges:
            sources = value if isinstance(value, list) else [value]
            for src in sources:
                if not isinstance(src, dict):
                    raise SpecError(
                        "yaml-syntax", "a `<<` merge takes a mapping or a list of mappings", _as_loc(loc, self.file)
                    )
                for k, v in src.items():
                    if k not in container:
                        container[k] = v
                        container.key_locs[k] = getattr(src, "key_locs", {}).get(k, loc)
                        container.val_locs[k] = getattr(src, "val_locs", {}).get(k, loc)
        self.sizes[id(container)] = size
        self.total -= size  # add() below counts the whole subtree once
        self.add(container, container.loc, size)


class _MergeKey:
    pass


def _too_big(text: str, loc: Location) -> SpecError:
    digits = sum(c.isdigit() for c in text)
    return SpecError(
        "bad-value",
        f"the integer `{text[:40]}{'…' if len(text) > 40 else ''}` ({digits:,} digits) is too large",
        loc,
        "integers in a spec are at most 10^18 in magnitude",
    )


_NOKEY = object()


def _tag_error(tag: str, loc: Location) -> SpecError:
    return SpecError(
        "yaml-tag",
        f"YAML tag `{tag}` is not allowed",
        loc,
        "a spec holds plain data only: mappings, lists, strings, numbers, booleans",
    )


def load_yaml(text: str | bytes, file: str = "<input>") -> Any:
    """Parse one YAML document into located data (``LMap`` / ``LList`` / scalars)."""
    if isinstance(text, bytes):
        raw = text
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = exc.start
            line = raw.count(b"\n", 0, bad) + 1
            col = bad - (raw.rfind(b"\n", 0, bad) + 1) + 1  # in bytes
            raise SpecError(
                "encoding",
                f"the file is not UTF-8 text (byte {bad}: {exc.object[bad]:#04x})",
                Location(file, line, col),
                "save the spec as UTF-8",
            ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SpecError("encoding", "the file contains a NUL byte; is it a binary file?", Location(file, line))
    b = _Builder(file)
    loader = _Loader(text)
    try:
        while True:
            ev = loader.get_event()
            if ev is None or isinstance(ev, yaml.StreamEndEvent):
                break
            if isinstance(ev, yaml.ScalarEvent):
                value = b.scalar(ev)
                if ev.anchor:
                    b.anchors[ev.anchor] = value
                b.add(value, ev.start_mark)
            elif isinstance(ev, yaml.MappingStartEvent):
                b.start(LMap(_loc(ev.start_mark, file)), ev)
            elif isinstance(ev, yaml.SequenceStartEvent):
                b.start(LList(_loc(ev.start_mark, file)), ev)
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                b.end()
            elif isinstance(ev, yaml.AliasEvent):
                loc = _loc(ev.start_mark, file)
                if ev.anchor not in b.anchors:
                    raise SpecError("yaml-syntax", f"alias `*{ev.anchor}` names no anchor", loc)
                target = b.anchors[ev.anchor]
                b.add(target, loc, b.sizes.get(id(target), 1))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = exc.problem or exc.context or "malformed YAML"
        if exc.context and exc.problem:
            msg = f"{exc.problem} ({exc.context})"
        hint = None
        if exc.context_mark is not None and exc.problem_mark is not None and exc.context_mark != exc.problem_mark:
            what = (exc.context or "the enclosing value").removeprefix("while parsing ").strip()
            hint = f"{what} starts at {_loc(exc.context_mark, file)}"
        raise SpecError("yaml-syntax", msg, _loc(mark, file), hint) from None
    except yaml.YAMLError as exc:
        raise SpecError("yaml-syntax", str(exc).splitlines()[0], Location(file)) from None
    finally:
        loader.dispose()
    if not b.root_set:
        raise SpecError("empty-spec", "the file holds no YAML document", Location(file, 1, 1))
    return b.root
