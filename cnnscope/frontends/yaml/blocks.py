"""``blocks:``: named, parameterized sub-graphs, read into :class:`BlockDef` records (their
arguments, layers, inputs and output) before any entry is expanded."""

from __future__ import annotations

from typing import Any

from cnnscope.errors import Location, SpecError
from cnnscope.frontends.yaml.checks import ENTRY_KEYS, _check_keys, _describe, _expect_list, _expect_map
from cnnscope.frontends.yaml.families import is_type
from cnnscope.frontends.yaml.yamlio import LList, LMap
from cnnscope.graph import INPUT

BLOCK_KEYS = ("args", "layers", "output", "inputs", "description")

# The loader's own records are plain classes: a dataclass generates and compiles its methods
# when this module is imported, which every analytic command pays for.


class BlockDef:
    __slots__ = ("defaults", "inputs", "layers", "loc", "name", "output", "output_loc", "required")

    def __init__(
        self,
        name: str,
        required: list[str],
        defaults: dict[str, Any],
        layers: LList,
        output: str | None,
        inputs: list[str],
        loc: Location | None,
        output_loc: Location | None = None,
    ) -> None:
        self.name, self.required, self.defaults, self.layers = name, required, defaults, layers
        self.output, self.inputs, self.loc, self.output_loc = output, inputs, loc, output_loc


def _parse_blocks(raw: Any, loc: Location | None) -> dict[str, BlockDef]:
    m = _expect_map(raw, "`blocks`", loc)
    out: dict[str, BlockDef] = {}
    for bname, body in m.items():
        bloc = m.key_loc(bname)
        if not isinstance(bname, str) or not bname.replace("_", "").replace("-", "").isalnum():
            raise SpecError("bad-name", f"block name `{bname}` must be a plain identifier", bloc)
        if isinstance(bname, str) and is_type(bname):
            raise SpecError("duplicate-name", f"block `{bname}` has the name of a layer type", bloc)
        if isinstance(body, list):  # shorthand: the layers alone
            lst = body if isinstance(body, LList) else _expect_list(body, "a block", bloc)
            body = LMap(bloc)
            body["layers"] = lst
        b = _expect_map(body, f"block `{bname}`", m.val_loc(bname))
        _check_keys(b, BLOCK_KEYS, f"block `{bname}`")
        if "layers" not in b:
            raise SpecError("missing-field", f"block `{bname}` needs `layers:`", b.loc)
        required: list[str] = []
        defaults: dict[str, Any] = {}
        args = b.get("args", [])
        if isinstance(args, dict):
            args_map = _expect_map(args, "`args`", b.val_loc("args"))
            defaults.update(args_map)
        else:
            args_list = _expect_list(args, f"`args` of block `{bname}`", b.val_loc("args"))
            for i, a in enumerate(args_list):
                aloc = args_list.item_loc(i)
                if isinstance(a, str):
                    required.append(a)
                elif isinstance(a, dict) and len(a) == 1:
                    ((k, v),) = a.items()
                    defaults[k] = v
                else:
                    raise SpecError(
                        "wrong-type",
                        f"each arg of block `{bname}` is a name (required) or {{name: default}}, got {_describe(a)}",
                        aloc,
                    )
        for a in [*required, *defaults]:
            if not isinstance(a, str) or not a.isidentifier() or a in ENTRY_KEYS or a in ("block", "i"):
                raise SpecError(
                    "bad-name",
                    f"`{a}` cannot be a block argument name",
                    b.val_loc("args"),
                    "argument names are identifiers other than name, from, repeat, when, block, i",
                )
        inputs = [INPUT]
        if "inputs" in b:
            raw_in = b["inputs"]
            inputs = (
                [raw_in] if isinstance(raw_in, str) else list(_expect_list(raw_in, "`inputs`", b.val_loc("inputs")))
            )
            if not inputs or not all(isinstance(x, str) for x in inputs):
                raise SpecError("wrong-type", "`inputs` must name one or more inputs", b.val_loc("inputs"))
        lst = _expect_list(b["layers"], f"`layers` of block `{bname}`", b.val_loc("layers"))
        out_name = b.get("output")
        if out_name is not None and not isinstance(out_name, str):
            raise SpecError("wrong-type", "`output` must name a layer of the block", b.val_loc("output"))
        out[bname] = BlockDef(bname, required, defaults, lst, out_name, inputs, b.loc, b.val_loc("output"))
    return out
