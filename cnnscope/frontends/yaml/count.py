"""How many layers a spec makes, from its entries before any is expanded: the floor from
literal ``repeat:`` counts (``min_nodes``), and the evaluated count (``count``), so that a
spec too large is refused in a few steps rather than after expanding millions of layers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnnscope.errors import CnnscopeError, SpecError
from cnnscope.frontends.yaml.blocks import BlockDef
from cnnscope.frontends.yaml.checks import ENTRY_KEYS
from cnnscope.frontends.yaml.expr import substitute
from cnnscope.frontends.yaml.make import _frozen
from cnnscope.frontends.yaml.yamlio import LList

MAX_NODES = 1_000_000  # refused from the arithmetic (repeat × layers per instance), before expanding
MAX_BLOCK_DEPTH = 32
_COUNT_STEPS = 2_000_000  # work the up-front layer count may do before leaving it to the expansion


class _Counter:
    """The counting half of the expander (``_Expander`` extends it): memos per block."""

    pending: list[Any]  # the layers made so far (the expander's)

    def __init__(self, blocks: dict[str, BlockDef]) -> None:
        self.blocks = blocks
        self.min_cache: dict[str, int] = {}
        self.counts: dict[Any, int] = {}
        self.counting: set[str] = set()
        self.steps = 0

    def min_nodes(self, e: Any) -> int:
        """At least how many layers an entry makes, from its literal `repeat:` and its block's
        entries (an expression or a `when:` counts 0): the arithmetic that refuses a spec too
        large before any of it is expanded."""
        if isinstance(e, str):
            return self.block_min(e) if e in self.blocks else 1
        if not isinstance(e, dict) or "when" in e:
            return 0
        r = e.get("repeat", 1)
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            return 0
        if "block" in e:
            b = e["block"]
            return r * self.block_min(b) if isinstance(b, str) and b in self.blocks else 0
        return r

    def block_min(self, name: str) -> int:
        if name in self.min_cache:
            return self.min_cache[name]
        self.min_cache[name] = 0  # a recursive block is refused when it is instantiated
        n = 0
        for x in self.blocks[name].layers:
            n += self.min_nodes(x)
            if n > MAX_NODES:
                break
        self.min_cache[name] = n
        return n

    def count(self, entries: Any, vars: Mapping[str, Any], depth: int = 0) -> int | None:
        """The number of layers ``entries`` make, evaluated (``when``, ``repeat``, block
        arguments) but not expanded, memoized per block and arguments, so that blocks which
        multiply each other are counted in a few steps. ``None`` when it cannot tell (an error
        the expansion will report where it is, or too much work): then only the expansion's
        own checks apply. Stops early once past MAX_NODES."""
        total = 0
        for e in entries:
            if isinstance(e, str):
                e = {"block": e} if e in self.blocks else {"type": e}
            if not isinstance(e, dict) or ("type" in e) == ("block" in e):
                return None
            self.steps += 1
            if self.steps > _COUNT_STEPS or depth > MAX_BLOCK_DEPTH:
                return None
            try:
                if "when" in e:
                    cond = substitute(e["when"], vars, None)
                    if not isinstance(cond, bool):
                        return None
                    if not cond:
                        continue
                r = substitute(e["repeat"], vars, None) if "repeat" in e else 1
                if isinstance(r, bool) or not isinstance(r, int) or r < 0:
                    return None
                if "type" in e:
                    total += r
                elif r:
                    bname = e["block"]
                    if not isinstance(bname, str) or bname not in self.blocks or bname in self.counting:
                        return None
                    bd = self.blocks[bname]
                    args = {k: v for k, v in e.items() if k not in ("block", *ENTRY_KEYS)}
                    for i in range(r):
                        self.steps += 1
                        if self.steps > _COUNT_STEPS:
                            return None
                        ivars = {**vars, "i": i}
                        bvars = {k: substitute(v, ivars, None) for k, v in args.items()}
                        for k, v in bd.defaults.items():
                            if k not in bvars:
                                bvars[k] = substitute(v, bvars, None)
                        bvars["i"] = i
                        key = (bname, _frozen(bvars))
                        n = self.counts.get(key)
                        if n is None:
                            self.counting.add(bname)
                            try:
                                n = self.count(bd.layers, bvars, depth + 1)
                            finally:
                                self.counting.discard(bname)
                            if n is None:
                                return None
                            self.counts[key] = n
                        total += n
                        if total > MAX_NODES:
                            return total
            except (CnnscopeError, TypeError):
                return None
            if total > MAX_NODES:
                return total
        return total

    def refuse_if_too_large(self, entries: LList) -> None:
        """Refuse a list of entries that makes more than MAX_NODES layers, at the entry where
        the count crosses it, before expanding any."""
        n = len(self.pending)
        for idx, x in enumerate(entries):
            n += self.min_nodes(x)
            if n > MAX_NODES:
                raise SpecError(
                    "too-large",
                    f"the spec makes at least {n:,} layers by here; cnnscope takes at most {MAX_NODES:,}",
                    entries.item_loc(idx),
                    "`repeat:` multiplies the layers of its block; check the counts",
                )
