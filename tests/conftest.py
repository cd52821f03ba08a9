"""Shared fixtures. Torch-free tests must not import torch at module level."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# a test run's cache (cnnscope.perf: the layer-family index, --help) is its own, not the user's
os.environ.setdefault("CNNSCOPE_CACHE_DIR", tempfile.mkdtemp(prefix="cnnscope-test-cache-"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden files in tests/golden/ from the current output (then review the diff)",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


# -- the profiler's clock, made of arithmetic ----------------------------------------------


class FakeClock:
    """Stands in for ``time.perf_counter`` in cnnscope.profile.runner, .timing and .perlayer.

    Time moves only when fake work moves it: the k-th forward of a model the profiler built
    (k from 0) costs ``per_forward(k)`` seconds, plus ``per_layer[name]`` seconds per sample of
    the batch for each layer it runs (charged as the layer returns, so a per-layer timer reads
    exactly that cost). Every figure the profiler reports then follows from these costs by hand
    arithmetic, and no test reads a wall clock.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.forwards = 0
        self.per_forward: Callable[[int], float] = lambda k: 0.0
        self.per_layer: dict[str, float] = {}

    def perf_counter(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def __getattr__(self, name: str) -> Any:  # the rest of the `time` module, unchanged
        return getattr(time, name)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The profiler timed by a :class:`FakeClock` (imports torch)."""
    from cnnscope.profile import perlayer, runner, timing
    from cnnscope.profile.build import GraphModule

    clock = FakeClock()
    for module in (runner, timing, perlayer):
        assert module.time is time, f"{module.__name__} no longer reads `time.perf_counter`: update FakeClock"
        monkeypatch.setattr(module, "time", clock)
    forward = GraphModule.forward

    def costed_forward(self: Any, x: Any, return_all: bool = False) -> Any:
        clock.advance(clock.per_forward(clock.forwards))
        clock.forwards += 1
        return forward(self, x, return_all)

    monkeypatch.setattr(GraphModule, "forward", costed_forward)
    build = runner.build_module

    def costed_build(graph: Any, *args: Any, **kwargs: Any) -> Any:
        module = build(graph, *args, **kwargs)
        for name, cost in clock.per_layer.items():  # returns None: the layer's output stays
            module.layer(name).register_forward_hook(lambda m, i, out, c=cost: clock.advance(c * out.shape[0]))
        return module

    monkeypatch.setattr(runner, "build_module", costed_build)
    return clock
