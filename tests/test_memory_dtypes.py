"""A mask is one byte an element and an index eight, whatever --dtype: memory holds each
layer's output to the bytes torch's own tensor takes (``element_size() * numel()``)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from cnnscope.analyze import analyze  # noqa: E402
from cnnscope.analyze.memory import inference_parts  # noqa: E402
from cnnscope.frontends.yaml.loader import load_spec  # noqa: E402

SPEC = """
input: [3, 8, 8]
layers:
  - {name: conv, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
  - {name: mask, type: compare, op: gt, value: 0}
  - {name: notmask, type: logical, op: not}
  - {name: both, type: logical, op: and, from: [mask, notmask]}
  - {name: arg, type: minmax, op: max, dim: 1, output: indices, from: conv}
  - {name: flat, type: flatten}
  - {name: top, type: topk, k: 2, dim: 1, output: indices, from: conv}
  - {name: topv, type: topk, k: 2, dim: 1, from: conv}
  - {name: order, type: sort, dim: 1, output: indices, from: conv}
  - {name: cast, type: add, from: [conv, mask]}
  - {name: inverse, type: unique, output: inverse, length: 2, from: mask}
"""


def _torch_outputs(dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """SPEC's layers written as plain torch calls, on a conv output of the same shape."""
    conv = torch.randn(2, 4, 8, 8, dtype=dtype)
    mask = conv > 0
    notmask = torch.logical_not(mask)
    arg = conv.argmax(1)
    return {
        "conv": conv,
        "mask": mask,
        "notmask": notmask,
        "both": torch.logical_and(mask, notmask),
        "arg": arg,
        "flat": arg.flatten(1),
        "top": conv.topk(2, 1).indices,
        "topv": conv.topk(2, 1).values,
        "order": conv.sort(1).indices,
        "cast": conv + mask,
        "inverse": torch.unique(mask, return_inverse=True)[1],
    }


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_activation_bytes_are_torchs_per_element_type(dtype: str) -> None:
    graph = load_spec(SPEC, "kinds.yaml")
    report = analyze(graph, ["memory"], batch=2, dtype=dtype)
    outs = _torch_outputs(getattr(torch, dtype))
    assert set(outs) == {n.name for n in graph.nodes}
    for name, out in outs.items():
        assert report.row(name)["activation_bytes"] == out.element_size() * out.numel(), (name, out.dtype)
    assert report.totals["activation_bytes"] == sum(o.element_size() * o.numel() for o in outs.values())


def test_the_inference_peak_counts_the_same_bytes() -> None:
    # a chain: conv (4·8·8 floats) -> mask (4·8·8 bools): the peak holds the input, conv and mask
    # at once: 3·8·8·4 + 4·8·8·4 + 4·8·8·1 bytes, by hand
    graph = load_spec(
        "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}\n"
        "  - {type: compare, op: gt, value: 0}\n",
        "chain.yaml",
    )
    parts = inference_parts(graph, 1, "float32")
    assert parts["activation_bytes"] == 3 * 8 * 8 * 4 + 4 * 8 * 8 * 4 + 4 * 8 * 8 * 1
