"""`profile --find-max-batch`: a bisection of real passes, against a memory limit on the CPU
(every try in a forked child capped with RLIMIT_AS) and the real allocator on CUDA."""

from __future__ import annotations

import json

import pytest

import cnnscope
from cnnscope.cli.main import main

torch = pytest.importorskip("torch")

from cnnscope.profile.maxbatch import find_max_batch  # noqa: E402

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
MIB = 2**20


def _check_bracket(res: object) -> None:
    tries = res.tries  # type: ignore[attr-defined]
    fits = [t.batch for t in tries if t.status == "fits"]
    ooms = [t.batch for t in tries if t.status == "oom"]
    assert res.measured_max == max(fits, default=0)  # type: ignore[attr-defined]
    assert all(b > res.measured_max for b in ooms)  # type: ignore[attr-defined]
    assert res.next_failing is None or res.next_failing in ooms  # type: ignore[attr-defined]
    # stopped within 1% of the low end (or adjacent)
    if res.next_failing is not None:  # type: ignore[attr-defined]
        assert res.next_failing - res.measured_max <= max(1, res.measured_max // 100)  # type: ignore[attr-defined]


def test_cpu_inference_against_a_limit() -> None:
    res = find_max_batch(cnnscope.load("cs231n-conv"), "cpu", memory_limit=48 * MIB)
    assert res.predicted_max == (48 * MIB - 105_480) // 94_208  # see test_fitmem's hand arithmetic
    assert res.measured_max >= 1
    assert any(t.status == "oom" for t in res.tries)  # it found the edge by hitting it
    _check_bracket(res)
    # every try stayed under the cap: the kernel refused what would have gone past it
    assert all(t.error is None for t in res.tries if t.status == "fits")


def test_cpu_training_against_a_limit() -> None:
    res = find_max_batch(cnnscope.load("cs231n-conv"), "cpu", train=True, optimizer="sgd", memory_limit=40 * MIB)
    assert res.train and res.measured_max >= 1
    _check_bracket(res)
    assert res.ratio is not None and res.ratio > 0


def test_cpu_needs_a_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "lenet5", "--find-max-batch"]) == 2
    assert "--memory-limit" in capsys.readouterr().err


def test_cpu_limit_beyond_the_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "lenet5", "--find-max-batch", "--memory-limit", "1000TiB"]) == 2
    assert "available" in capsys.readouterr().err


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["profile", "cs231n-conv", "--find-max-batch", "--memory-limit", "40MiB", "--format", "json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["predicted_max"] > 0 and data["measured_max"] > 0
    assert data["ratio"] == pytest.approx(data["measured_max"] / data["predicted_max"])


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("train", [False, True])
def test_cuda_bisection(train: bool) -> None:
    g = cnnscope.load("resnet18")
    res = find_max_batch(g, "cuda", dtype="float16", train=train, memory_limit=2 * 2**30)
    _check_bracket(res)
    assert res.measured_max >= 1
    # the measured peak of the largest fitting try is under the cap
    best = max((t for t in res.tries if t.status == "fits"), key=lambda t: t.batch)
    assert best.peak_bytes is not None and best.peak_bytes <= 2 * 2**30
    torch.cuda.set_per_process_memory_fraction(1.0)


@pytest.mark.cuda
@needs_cuda
def test_cuda_oom_is_reported_and_freed() -> None:
    g = cnnscope.load("resnet50")
    res = find_max_batch(g, "cuda", train=True, memory_limit=2**30)
    assert any(t.status == "oom" and t.error for t in res.tries)
    assert torch.cuda.memory_allocated() < 2**30  # nothing of the failed tries is left behind
    torch.cuda.set_per_process_memory_fraction(1.0)
