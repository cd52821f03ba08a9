"""``gridsample``: ``F.grid_sample(x, grid)``, each output position read from ``x`` at the
coordinates ``grid`` gives (spatial transformers, RAFT's correlation lookup, deformable
sampling). Two inputs: ``x`` (N, C, H, W) or (N, C, D, H, W) and ``grid`` (N, H', W', 2) or
(N, D', H', W', 3); the output is (N, C, H', W') or (N, C, D', H', W'). A grid of batch 1 (a
fixed warp, captured as a constant) serves every sample, as the model expands it to the batch.

Op rule (docs/conventions.md, category ``interpolate``), as upsampling counts: a weighted sum
of ``2^d`` taps (bilinear), ``4^d`` (bicubic), ``(2·taps − 1)`` per output element; nearest
copies (0). No multiply-adds (FlopCounterMode counts none). Receptive field: where a unit reads
depends on the grid's values, not on its position: not a sliding window.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import check_count
from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Bool, Choice, fld


@register
@layer_dataclass
class GridSample(Layer):
    torch_name: ClassVar[str] = "GridSample"
    torch_home: ClassVar[str] = "_functional_torch"
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = "samples x at the coordinates of a grid input (F.grid_sample)"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2

    mode: str = fld(Choice(("bilinear", "nearest", "bicubic")), "bilinear", "interpolation between the input's pixels")
    padding_mode: str = fld(Choice(("zeros", "border", "reflection")), "zeros", "what a coordinate outside reads")
    align_corners: bool = fld(Bool(), False, "true: -1 and 1 are the centres of the corner pixels, not their edges")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        check_count(self, ins)
        x, grid = ins
        if len(x) not in (4, 5):
            raise ShapeError("shape-mismatch", f"samples a 4-d or 5-d input, got {len(x)}-d {list(x)}")
        nd = len(x) - 2
        if len(grid) != len(x) or grid[-1] != nd:
            want = "(N, H', W', 2)" if nd == 2 else "(N, D', H', W', 3)"
            raise ShapeError("shape-mismatch", f"a {len(x)}-d input needs a grid {want}, got {list(grid)}")
        if grid[0] not in (x[0], 1):
            raise ShapeError("shape-mismatch", f"the grid's batch {grid[0]} is neither the input's {x[0]} nor 1")
        if self.mode == "bicubic" and nd != 2:
            raise ShapeError("shape-mismatch", f"bicubic sampling takes a 4-d input, got {len(x)}-d {list(x)}")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        x, grid = ins
        return (x[0], x[1], *grid[1:-1])

    def _taps(self, nd: int) -> int:
        return 0 if self.mode == "nearest" else (4**nd if self.mode == "bicubic" else 2**nd)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        taps = self._taps(len(out) - 2)
        return {"interpolate": prod(out) * (2 * taps - 1)} if taps else {}

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        taps = self._taps(len(out) - 2)
        return [
            Step("output shape", f"input's N, C at the grid's positions {list(ins[1][1:-1])}", _fmt(out)),
            Step(
                "ops",
                f"{self.mode}: a weighted sum of {taps} taps per output, 2·{taps} − 1" if taps else "nearest: a copy",
                f"{sum(self.other_ops(ins, out).values()):,}",
            ),
        ]
