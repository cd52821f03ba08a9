"""YAML text -> plain Python data that remembers where every value came from.

The document is built from PyYAML's event stream rather than ``yaml.compose``: the
composer recurses once per nesting level (deeply nested input crashes the C extension),
and events let us refuse Python-object tags, duplicate keys and alias bombs with a
location before any of them can do harm.

Mappings become :class:`LMap` and sequences :class:`LList`; both are ordinary ``dict`` /
``list`` objects that also carry the :class:`~cnnscope.errors.Location` of themselves, of
their keys and of their items.

Every value of a spec passes through :meth:`_Builder.run`, so its common cases are written out
inline beside the general methods they stand for (for a large spec this loop took as long as
libyaml's parsing itself): that is why this one job is longer than the house's 300 lines.
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
_STR_TAG = "tag:yaml.org,2002:str"
# the first characters of the plain scalars the resolver may read as something else than a
# string (bool, int, float, null, merge, ...); with no wildcard or path resolvers, any other is one
_IMPLICIT_FIRST = frozenset(yaml.resolver.Resolver.yaml_implicit_resolvers)
assert None not in _IMPLICIT_FIRST and not yaml.resolver.Resolver.yaml_path_resolvers
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
        # stack frames: see start()
        self.stack: list[list[Any]] = []
        self.root: Any = None
        self.root_set = False
        self.plain_cache: dict[str, Any] = {}  # plain scalars resolve by text alone

    # -- values -----------------------------------------------------------------------
    def scalar(self, ev: Any) -> Any:
        plain = ev.tag is None and ev.implicit[0] and not ev.style
        if plain and ev.value in self.plain_cache:
            return self.plain_cache[ev.value]
        text = ev.value
        if plain and text and text[0] not in _IMPLICIT_FIRST:  # no YAML 1.1 type starts so: a string
            if len(self.plain_cache) < 100_000:
                self.plain_cache[text] = text
            return text
        value = self._scalar(ev)
        if plain and not isinstance(value, _MergeKey) and len(self.plain_cache) < 100_000:
            self.plain_cache[ev.value] = value
        return value

    def _scalar(self, ev: Any) -> Any:
        tag = ev.tag
        if tag is None or tag == "!":
            tag = self.resolver.resolve(yaml.ScalarNode, ev.value, ev.implicit)  # type: ignore[no-untyped-call]
        if tag not in _SAFE_TAGS:
            raise _tag_error(tag, _loc(ev.start_mark, self.file))
        if tag == _MERGE:
            return _MergeKey()
        if tag == _INT_TAG and len(ev.value) > 40:  # refused before Python converts 4,300 digits
            raise _too_big(ev.value, _loc(ev.start_mark, self.file))
        text = ev.value
        if tag == _STR_TAG:  # what SafeConstructor gives a string: its text
            return text
        if tag == _INT_TAG and text.isascii() and text.isdigit() and (text[0] != "0" or text == "0"):
            value: Any = int(text)  # plain decimal digits (a leading 0 is octal in YAML 1.1)
        else:
            node = yaml.ScalarNode(tag, text, ev.start_mark, ev.end_mark, ev.style)
            try:
                value = self.constructor.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                raise SpecError(
                    "yaml-syntax",
                    f"bad {tag.rsplit(':', 1)[-1]} value {ev.value[:80]!r}: {clip(str(exc), 200)}",
                    _loc(ev.start_mark, self.file),
                ) from None
            finally:
                self.constructor.constructed_objects.clear()
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise _too_big(ev.value, _loc(ev.start_mark, self.file))
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(
                "bad-value",
                f"`{ev.value[:80]}` is not a finite number",
                _loc(ev.start_mark, self.file),
                "a spec's numbers are finite (no .inf, .nan, or 1e999)",
            )
        return value

    def add(self, value: Any, loc: Any, size: int = 1) -> None:
        """Place ``value`` (found at ``loc``: a Location or a parser mark) in its container."""
        self.total += size
        if self.total > MAX_SIZE:
            raise self._bomb(loc)
        if not self.stack:
            if self.root_set:
                raise SpecError("yaml-syntax", "expected one YAML document, found more", _as_loc(loc, self.file))
            self.root, self.root_set = value, True
            return
        frame = self.stack[-1]
        frame[3] += size
        if frame[5]:
            frame[0].append(value)
            frame[0].item_locs.append(loc)
        elif frame[1] is _NOKEY:
            self.key(frame, value, loc)
        else:
            self.value(frame, value, loc)

    def key(self, frame: list[Any], value: Any, loc: Any) -> None:
        """``value`` read where ``frame``'s mapping expects a key."""
        container = frame[0]
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

    def value(self, frame: list[Any], value: Any, loc: Any) -> None:
        """``value`` read as the value of ``frame``'s pending key."""
        key = frame[1]
        if isinstance(key, _MergeKey):
            frame[4].append((key, (value, loc)))
        else:
            container = frame[0]
            container[key] = value
            container.key_locs[key] = frame[2]
            container.val_locs[key] = loc
        frame[1] = _NOKEY

    def _bomb(self, loc: Any) -> SpecError:
        return SpecError(
            "alias-bomb",
            f"the document expands to more than {MAX_SIZE:,} values",
            _as_loc(loc, self.file),
            "YAML anchors and aliases are expanded; reuse layers with `blocks:` instead",
        )

    def start(self, container: Any, ev: Any) -> None:
        if ev.tag not in (None, "!") and ev.tag not in _SAFE_TAGS:
            raise _tag_error(ev.tag, container.loc)
        if len(self.stack) >= MAX_DEPTH:
            raise SpecError("too-deep", f"the document nests more than {MAX_DEPTH} levels deep", container.loc)
        # frame: container, pending key, its location, values inside, merges, is a list, anchored
        self.stack.append([container, _NOKEY, None, 1, [], isinstance(container, LList), bool(ev.anchor)])
        if ev.anchor:
            self.anchors[ev.anchor] = container

    def end(self) -> None:
        container, _key, _kloc, size, merges, _is_list, anchored = self.stack.pop()
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
        if anchored:  # an alias of it counts it whole
            self.sizes[id(container)] = size
        self.total -= size  # add() below counts the whole subtree once
        self.add(container, container.loc, size)

    def run(self, loader: Any) -> None:
        """Build the document from the parser's events (the loop every value goes through, so
        the common cases are inlined here: a plain scalar seen before, a list item, a key and
        its value; everything else goes through the methods above)."""
        file, stack, cache, anchors = self.file, self.stack, self.plain_cache, self.anchors
        get_event, scalar, add = loader.get_event, self.scalar, self.add
        key, value_of, start, end = self.key, self.value, self.start, self.end
        nokey = _NOKEY
        while True:
            ev = get_event()
            cls = ev.__class__
            if cls is _SCALAR:
                v = cache.get(ev.value, nokey) if ev.tag is None and not ev.style and ev.implicit[0] else nokey
                if v is nokey:
                    v = scalar(ev)
                if ev.anchor:
                    anchors[ev.anchor] = v
                if not stack or self.total >= MAX_SIZE:
                    add(v, ev.start_mark)
                    continue
                self.total += 1
                frame = stack[-1]
                frame[3] += 1
                container = frame[0]
                if frame[5]:
                    container.append(v)
                    container.item_locs.append(ev.start_mark)
                elif frame[1] is nokey:
                    if v.__class__ is not str or v in container:
                        key(frame, v, ev.start_mark)  # a merge key, a duplicate, a key that is no string
                    else:
                        frame[1], frame[2] = v, ev.start_mark
                elif frame[1].__class__ is _MergeKey:
                    value_of(frame, v, ev.start_mark)
                else:
                    k = frame[1]
                    container[k] = v
                    container.key_locs[k] = frame[2]
                    container.val_locs[k] = ev.start_mark
                    frame[1] = nokey
            elif cls is _MAP_START or cls is _SEQ_START:
                is_list = cls is _SEQ_START
                made = (LList if is_list else LMap)(Location(file, ev.start_mark.line + 1, ev.start_mark.column + 1))
                tag = ev.tag
                if (tag is not None and tag != "!" and tag not in _SAFE_TAGS) or len(stack) >= MAX_DEPTH or ev.anchor:
                    start(made, ev)  # a refusal, or an anchor to remember
                else:
                    stack.append([made, nokey, None, 1, [], is_list, False])
            elif cls is _MAP_END or cls is _SEQ_END:
                frame = stack[-1]
                if frame[4] or frame[6] or len(stack) == 1:
                    end()  # merges to apply, an anchored size to keep, or the document itself
                    continue
                stack.pop()  # the container is a value of its parent (the total stays as it is)
                container, size = frame[0], frame[3]
                parent = stack[-1]
                parent[3] += size
                if parent[5]:
                    parent[0].append(container)
                    parent[0].item_locs.append(container.loc)
                elif parent[1] is nokey:
                    key(parent, container, container.loc)  # refused: a key must be a scalar
                elif parent[1].__class__ is _MergeKey:
                    value_of(parent, container, container.loc)
                else:
                    k, into = parent[1], parent[0]
                    into[k] = container
                    into.key_locs[k] = parent[2]
                    into.val_locs[k] = container.loc
                    parent[1] = nokey
            elif cls is _ALIAS:
                loc = _loc(ev.start_mark, file)
                if ev.anchor not in anchors:
                    raise SpecError("yaml-syntax", f"alias `*{ev.anchor}` names no anchor", loc)
                target = anchors[ev.anchor]
                add(target, loc, self.sizes.get(id(target), 1))
            elif ev is None or cls is _STREAM_END:
                return


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


_NOKEY: Any = object()
_SCALAR, _ALIAS, _STREAM_END = yaml.ScalarEvent, yaml.AliasEvent, yaml.StreamEndEvent
_MAP_START, _MAP_END = yaml.MappingStartEvent, yaml.MappingEndEvent
_SEQ_START, _SEQ_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent


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
        b.run(loader)
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
