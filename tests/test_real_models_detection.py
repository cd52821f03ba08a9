"""torchvision's detectors, exactly and with no opaque node (#13).

Each builder is captured on cnnscope's seeded input and held against torch:

- params equal the unique ``numel`` of the model, MACs equal ``FlopCounterMode`` / 2 of one eval
  forward on the same input (``tests/torch_oracle.py``), and the graph has no opaque or
  unsupported node: post-processing (comparisons, ``torch.where``, ``topk``, ``nms``, RoI Align,
  boolean and advanced indexing, writes into tensors) has layer types;
- every output's shape equals the real forward's on that input: the sizes the data decides
  (boxes kept by ``nms``, a score mask's true elements) are the measured ones. A score threshold
  of 0 keeps boxes, so these paths carry data rather than empty tensors.

Small variants and inputs keep the file to about a minute on 2 cores: the 320 px MobileNet
Faster R-CNN (which takes torchvision's per-class ``batched_nms`` on 13,500 boxes), FCOS and
Mask R-CNN at 128 px, SSDlite. The rest of the zoo is ``bench/coverage.py --group detection``.
Also here, with torchvision as the oracle: the plain-torch ``nms`` and RoI Align that built
modules fall back to without torchvision, and ``multiscaleroialign``'s module against
``torchvision.ops.MultiScaleRoIAlign``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.torchvision

TOLERANCE = 0.005
NO_BACKBONE: dict[str, Any] = {"weights_backbone": None}
SMALL = {"min_size": 128, "max_size": 128}

CASES = [
    ("fasterrcnn_mobilenet_v3_large_320_fpn", (3, 320, 320), {**NO_BACKBONE, "box_score_thresh": 0.0}),
    ("fcos_resnet50_fpn", (3, 128, 128), {**NO_BACKBONE, **SMALL, "score_thresh": 0.0, "detections_per_img": 30}),
    (
        "maskrcnn_resnet50_fpn",
        (3, 128, 128),
        {**NO_BACKBONE, **SMALL, "box_score_thresh": 0.0, "box_detections_per_img": 10},
    ),
    ("ssdlite320_mobilenet_v3_large", (3, 320, 320), {**NO_BACKBONE, "score_thresh": 0.0, "detections_per_img": 30}),
]


def _seeded(shape: tuple[int, ...]) -> Any:
    """cnnscope's recorded input: torch.randn from a generator seeded 0 (a list of one image)."""
    import torch

    return [torch.randn((1, *shape), generator=torch.Generator().manual_seed(0))[0]]


@pytest.mark.parametrize(("name", "shape", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_detector_is_exact_with_no_opaque_node(name: str, shape: tuple[int, ...], kwargs: dict[str, Any]) -> None:
    pytest.importorskip("torchvision")
    import torch
    import torchvision.models as tvm
    from torch.utils._pytree import tree_flatten
    from torch_oracle import oracle

    import cnnscope

    torch.manual_seed(0)  # as cnnscope builds it: the same weights, so the same boxes survive
    model = tvm.get_model(name, weights=None, **kwargs).eval()
    images = _seeded(shape)
    ref = oracle(model, (images,))
    with torch.no_grad():
        outs = [t for t in tree_flatten(model(images))[0] if isinstance(t, torch.Tensor)]
    del model

    graph = cnnscope.load(f"torchvision:{name}", shape, kwargs=json.dumps(kwargs))
    report = cnnscope.analyze(graph, batch=1)
    assert graph.extras["opaque"] == {} and graph.extras["unsupported"] == {}, graph.extras["opaque"]
    assert report.totals["params"] == ref["params"]
    assert abs(report.totals["macs"] - ref["macs"]) <= TOLERANCE * ref["macs"], (report.totals["macs"], ref["macs"])
    got = [report.row(n)["output_shape"] for n in graph.extras["outputs"]]
    assert got == [list(t.shape) for t in outs]  # boxes, labels, scores (and masks): as torch kept them
    assert all(shape[0] > 0 for shape in got), got  # a threshold of 0: boxes carried through, not empty

    types = {n.type for n in graph.nodes}
    assert {"nms", "compare", "index", "topk"} <= types, types
    measured = [n for n in graph.nodes if n.layer.data_dependent]
    assert measured and any("size the data decides" in note for note in report.notes)


def test_rpn_and_roi_heads_read_as_layers() -> None:
    """Faster R-CNN's post-processing, node by node: the top-k indices are nodes of their own,
    the FPN pooler is one node, and a data-dependent size says how it was measured."""
    pytest.importorskip("torchvision")
    import cnnscope
    from cnnscope.layers.base import RFKind

    shape = (3, 320, 320)
    graph = cnnscope.load("torchvision:fasterrcnn_mobilenet_v3_large_320_fpn", shape, kwargs=json.dumps(CASES[0][2]))
    nodes = {n.name: n for n in graph.nodes}
    shapes = graph.extras["measured_shapes"]
    pool = [n for n in graph.nodes if n.type == "multiscaleroialign"]
    assert len(pool) == 1 and pool[0].name == "roi_heads.box_roi_pool"
    # the pooler: one 7×7 map per proposal, from the FPN levels whose scales torchvision found
    cfg = pool[0].layer.config()
    assert cfg["output_size"] == 7 and cfg["sampling_ratio"] == 2
    boxes = [shapes[i] for i in pool[0].inputs[len(cfg["scales"]) :]]
    assert shapes[pool[0].name] == [sum(b[0] for b in boxes), 256, 7, 7]
    # topk's indices are nodes of their own (offset per level, then gathering the proposals):
    # no opaque "[1]" node remains
    consumers = graph.consumers()
    idx = [n for n in graph.nodes if n.type == "topk" and n.layer.config().get("output") == "indices"]
    assert len(idx) == 3 and all(consumers.get(n.name) for n in idx)  # one per FPN level of the 320 model
    nms = [n for n in graph.nodes if n.type == "nms"]
    ins = [[shapes[i] for i in n.inputs] for n in nms]
    assert all(b[1] == 4 and s == [b[0]] for b, s in ins)  # boxes (K, 4), scores (K,)
    for n, its in zip(nms, ins, strict=True):
        steps = n.layer.explain([tuple(s) for s in its], (n.layer.config()["length"],))
        said = " ".join(f"{s.what} {s.formula}" for s in steps)
        assert "data-dependent" in said and f"{n.layer.config()['length']:,}" in said
        assert n.layer.rf([tuple(s) for s in its]).kind is RFKind.UNSUPPORTED
    assert "transform.copy.base" in nodes and nodes["transform.copy.base"].type == "sliceput"


def test_plain_torch_nms_and_roi_align_match_torchvision() -> None:
    """The fallbacks a built module uses where torchvision is not installed, against it."""
    pytest.importorskip("torchvision")
    import torch
    from torchvision.ops import nms, roi_align

    from cnnscope.layers import _detection_torch as D

    g = torch.Generator().manual_seed(1)
    xy = torch.rand((60, 2), generator=g) * 40
    boxes = torch.cat([xy, xy + 1 + torch.rand((60, 2), generator=g) * 20], 1)
    scores = torch.rand(60, generator=g)
    for iou in (0.2, 0.5, 0.8):
        assert torch.equal(_plain_nms(boxes, scores, iou), nms(boxes, scores, iou))
    feat = torch.randn((2, 3, 12, 10), generator=g)
    rois = torch.cat([torch.tensor([[0.0], [1.0], [1.0], [0.0]]), torch.tensor(
        [[0.0, 0.0, 9.0, 11.0], [2.5, 1.5, 6.0, 4.0], [-3.0, 2.0, 30.0, 8.0], [4.0, 4.0, 4.5, 5.0]]
    )], 1)  # fmt: skip
    for ratio in (2, -1):
        for aligned in (False, True):
            for scale in (1.0, 0.5):
                ours = D._roi_align_plain(feat, rois, (3, 2), scale, ratio, aligned)
                theirs = roi_align(feat, rois, [3, 2], scale, ratio, aligned)
                torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def _plain_nms(boxes: Any, scores: Any, iou: float) -> Any:
    """The fallback, called with torchvision hidden from it."""
    import builtins
    from unittest import mock

    from cnnscope.layers import _detection_torch as D

    real_import = builtins.__import__

    def no_torchvision(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("torchvision"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    with mock.patch("builtins.__import__", no_torchvision):
        return D.nms(boxes, scores, iou)


def test_multiscale_roi_align_is_one_node_and_its_module_is_torchvisions() -> None:
    pytest.importorskip("torchvision")
    import torch
    from torch import nn
    from torchvision.ops import MultiScaleRoIAlign

    import cnnscope
    from cnnscope.frontends.torch.capture import capture

    class Pooler(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 4, 3, stride=4, padding=1), nn.Conv2d(4, 4, 3, stride=2, padding=1)
            self.pool = MultiScaleRoIAlign(["p2", "p3"], 3, sampling_ratio=2, canonical_scale=56)
            self.sizes = torch.tensor([[4.0, 4.0], [40.0, 24.0], [56.0, 60.0]])  # small ones: level p2

        def boxes(self, x: Any) -> Any:
            t = x.flatten(1)[:, :12].reshape(3, 4).abs() * 4
            return torch.cat([t[:, :2], t[:, :2] + t[:, 2:] + self.sizes], 1)

        def forward(self, x: Any) -> Any:
            p2 = self.a(x)
            feats = {"p2": p2, "p3": self.b(p2), "unused": p2 * 2}
            return self.pool(feats, [self.boxes(x)], [(64, 64)])

    model = Pooler().eval()
    graph = capture(model, (3, 64, 64))
    assert graph.extras["opaque"] == {} and graph.extras["unsupported"] == {}
    (node,) = [n for n in graph.nodes if n.type == "multiscaleroialign"]
    assert node.layer.config()["scales"] == [0.25, 0.125] and node.layer.config()["canonical_scale"] == 56
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        want = model(x)
        assert cnnscope.analyze(graph).row(node.name)["output_shape"] == list(want.shape)
        p2 = model.a(x)
        built = node.layer.to_torch([])(p2, model.b(p2), model.boxes(x))
        levels = model.pool.map_levels([model.boxes(x)])
    assert sorted(set(levels.tolist())) == [0, 1]  # both levels pooled from
    torch.testing.assert_close(built, want)
