"""The defaults of the layer contract (cnnscope/layers/base.py) that spare a layer type code:
the type name read from ``torch_name``, cnnscope's own torch module found by ``torch_home``
and built from the fields, the per-element cost of ``ops_kind``, ``out_shape`` as the input
check, and what a consumer reads instead of probing (``values()``, ``op_label()``).
"""

from __future__ import annotations

import inspect
from importlib import import_module
from typing import ClassVar

import pytest

from cnnscope.errors import ShapeError
from cnnscope.layers import Layer, registry
from cnnscope.layers import base as layer_base
from cnnscope.layers.base import layer_dataclass, register
from cnnscope.layers.opaque import Unsupported

OWN = sorted(name for name, cls in registry().items() if cls.torch_home and "to_torch" not in vars(cls))


def test_the_type_name_is_the_torch_name_in_lowercase_unless_set() -> None:
    @layer_dataclass
    class ProbeNorm(Layer):
        torch_name: ClassVar[str] = "ProbeNorm"

    @layer_dataclass
    class ProbeOther(Layer):
        type_name: ClassVar[str] = "probe-other"
        torch_name: ClassVar[str] = "ProbeNorm"

    try:
        register(ProbeNorm)
        register(ProbeOther)
        assert ProbeNorm.type_name == "probenorm"
        assert ProbeOther.type_name == "probe-other"
        with pytest.raises(ValueError, match="registered twice"):
            register(type("ProbeNorm", (ProbeNorm,), {"torch_name": "ProbeNorm"}))
    finally:
        for name in ("probenorm", "probe-other"):
            layer_base._REGISTRY.pop(name, None)
            layer_base._ORDER.pop(name, None)


@pytest.mark.parametrize("name", OWN)
def test_an_own_torch_module_takes_the_fields_by_their_names(name: str) -> None:
    """``to_torch`` passes ``torch_kwargs`` (the fields, by default) to the class of
    ``torch_name`` in ``torch_home``: its constructor must name exactly those."""
    pytest.importorskip("torch")
    cls = registry()[name]
    module_cls = getattr(import_module(f"cnnscope.layers.{cls.torch_home}"), cls.torch_name)
    takes = {
        p.name
        for p in list(inspect.signature(module_cls.__init__).parameters.values())[1:]
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    if "torch_kwargs" in vars(cls):  # says itself what it passes (add: nothing)
        return
    assert takes == {f.name for f in cls.fields()} - {"trainable"}


def test_the_per_element_cost_of_ops_kind() -> None:
    out = (2, 3, 4, 4)  # 2·3·4·4 = 96 elements
    reg = registry()
    assert reg["relu"]().other_ops([out], out) == {"activation": 96}
    assert reg["softmax"]().other_ops([out], out) == {"activation": 3 * 96}  # exp, sum, divide
    assert reg["normalize"]().other_ops([out], out) == {"norm": 3 * 96}  # power, sum, divide
    assert reg["unary"](op="exp").other_ops([out], out) == {"elementwise": 96}
    assert reg["flatten"]().other_ops([out], (2, 48)) == {}


def test_out_shape_checks_makes_out_shape_the_input_check() -> None:
    torch = pytest.importorskip("torch")
    expand = registry()["expand"](sizes=(1, 3))
    with pytest.raises(RuntimeError):  # torch refuses too: fewer sizes than dims
        torch.empty(1, 4, 5).expand(1, 3)
    with pytest.raises(ShapeError, match="fewer dims"):
        expand.check_inputs([(1, 4, 5)])
    expand.check_inputs([(1, 1)])  # (1, 1) -> (1, 3): fine


def test_values_and_op_label_answer_what_export_used_to_probe() -> None:
    leaky = registry()["leakyrelu"](negative_slope=0.2)
    assert leaky.values() == {"trainable": True, "negative_slope": 0.2}
    assert leaky.config() == {"negative_slope": 0.2}
    assert leaky.op_label() == "leakyrelu"
    assert Unsupported(op="cumsum").op_label() == "cumsum"
