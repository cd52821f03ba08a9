"""Peak compute and memory bandwidth of a device, for the roofline view.

A small table of known GPUs (dense figures from the vendors' datasheets, no structured
sparsity; SXM boards where a part comes in several forms unless the name says otherwise),
matched on the name torch reports. A CPU, or a GPU not in the table, gets a labelled rough
estimate or nothing; ``--peak-tflops`` / ``--peak-gbps`` override either figure.

Nothing here imports torch at module level.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuSpec:
    """Dense peak TFLOP/s per math mode and peak memory bandwidth in GB/s (10^9 B/s)."""

    match: tuple[str, ...]  # all of these substrings (lower case) appear in the device name
    label: str
    fp32: float  # plain FP32 (CUDA cores)
    tf32: float  # tensor cores, TF32
    half: float  # tensor cores, FP16 / BF16 with FP32 accumulate
    gbps: float


# Ordered: more specific names first (H100 PCIe before H100).
KNOWN_GPUS: tuple[GpuSpec, ...] = (
    GpuSpec(("h200",), "NVIDIA H200 SXM", 67.0, 494.7, 989.4, 4800.0),
    GpuSpec(("gh200",), "NVIDIA GH200", 67.0, 494.7, 989.4, 4000.0),
    GpuSpec(("h100", "pcie"), "NVIDIA H100 PCIe", 51.2, 378.0, 756.5, 2000.0),
    GpuSpec(("h100", "nvl"), "NVIDIA H100 NVL", 60.0, 417.5, 835.0, 3900.0),
    GpuSpec(("h100",), "NVIDIA H100 SXM", 67.0, 494.7, 989.4, 3350.0),
    GpuSpec(("a100", "pcie", "40"), "NVIDIA A100 PCIe 40GB", 19.5, 156.0, 312.0, 1555.0),
    GpuSpec(("a100", "80"), "NVIDIA A100 80GB", 19.5, 156.0, 312.0, 2039.0),
    GpuSpec(("a100",), "NVIDIA A100 40GB", 19.5, 156.0, 312.0, 1555.0),
    GpuSpec(("l40s",), "NVIDIA L40S", 91.6, 183.0, 362.1, 864.0),
    GpuSpec(("l4",), "NVIDIA L4", 30.3, 60.0, 121.0, 300.0),
    GpuSpec(("a10g",), "NVIDIA A10G", 31.2, 35.0, 70.0, 600.0),
    GpuSpec(("a10",), "NVIDIA A10", 31.2, 62.5, 125.0, 600.0),
    GpuSpec(("v100",), "NVIDIA V100", 15.7, 15.7, 125.0, 900.0),
    GpuSpec(("t4",), "NVIDIA T4", 8.1, 8.1, 65.0, 320.0),
    GpuSpec(("4090",), "NVIDIA GeForce RTX 4090", 82.6, 82.6, 165.2, 1008.0),
    GpuSpec(("3090",), "NVIDIA GeForce RTX 3090", 35.6, 35.6, 71.0, 936.0),
)

# The CPU estimate: threads × clock × FP32 FLOP per cycle per core (two AVX2 FMA units:
# 2 units × 8 lanes × 2 FLOP). Real CPUs differ by 2-4× either way: it is labelled so.
CPU_GHZ = 3.0
CPU_FLOP_PER_CYCLE = 32
CPU_GBPS = 20.0


@dataclass(frozen=True)
class DevicePeak:
    """Peak FLOP/s and bytes/s for one device in one math mode, and where they came from."""

    device: str  # what torch calls it: "NVIDIA H100 80GB HBM3", "cpu"
    flops_per_s: float | None
    bytes_per_s: float | None
    source: str  # "table: NVIDIA H100 SXM (bf16 tensor cores)", "estimate", "--peak-tflops"
    estimated: bool = False

    @property
    def ridge(self) -> float | None:
        """Arithmetic intensity (FLOP/byte) where the roofline turns from memory- to compute-bound."""
        if not self.flops_per_s or not self.bytes_per_s:
            return None
        return self.flops_per_s / self.bytes_per_s

    def to_json(self) -> dict[str, object]:
        return {
            "device": self.device,
            "flops_per_s": self.flops_per_s,
            "bytes_per_s": self.bytes_per_s,
            "ridge_flop_per_byte": self.ridge,
            "source": self.source,
            "estimated": self.estimated,
        }


def lookup_gpu(name: str) -> GpuSpec | None:
    low = name.lower()
    for spec in KNOWN_GPUS:
        if all(m in low for m in spec.match):
            return spec
    return None


def gpu_peak(name: str, dtype: str, tf32: bool) -> tuple[float | None, float | None, str]:
    """(FLOP/s, B/s, source) for a GPU by its name; Nones when the table does not know it."""
    spec = lookup_gpu(name)
    if spec is None:
        return None, None, "unknown GPU: pass --peak-tflops and --peak-gbps"
    if dtype in ("float16", "bfloat16"):
        tflops, mode = spec.half, f"{dtype} tensor cores"
    elif tf32:
        tflops, mode = spec.tf32, "tf32 tensor cores (float32 convolutions use TF32)"
    else:
        tflops, mode = spec.fp32, "fp32"
    return tflops * 1e12, spec.gbps * 1e9, f"table: {spec.label}, {mode}"


def cpu_peak(threads: int | None = None) -> tuple[float, float, str]:
    n = threads or os.cpu_count() or 1
    flops = n * CPU_GHZ * 1e9 * CPU_FLOP_PER_CYCLE
    src = (
        f"rough estimate: {n} threads × {CPU_GHZ:g} GHz × {CPU_FLOP_PER_CYCLE} FLOP/cycle, "
        f"{CPU_GBPS:g} GB/s; pass --peak-tflops/--peak-gbps for real figures"
    )
    return flops, CPU_GBPS * 1e9, src


def device_peak(
    device_type: str,
    device_name: str,
    dtype: str,
    *,
    tf32: bool = False,
    threads: int | None = None,
    peak_tflops: float | None = None,
    peak_gbps: float | None = None,
) -> DevicePeak:
    """The peaks for a device, the overrides taking precedence over the table or estimate."""
    if device_type == "cuda":
        flops, bw, src = gpu_peak(device_name, dtype, tf32)
        estimated = False
    else:
        flops, bw, src = cpu_peak(threads)
        estimated = True
    if peak_tflops is not None:
        flops = peak_tflops * 1e12
    if peak_gbps is not None:
        bw = peak_gbps * 1e9
    if peak_tflops is not None or peak_gbps is not None:
        given = [
            f"--peak-tflops {peak_tflops:g}" if peak_tflops is not None else "",
            f"--peak-gbps {peak_gbps:g}" if peak_gbps is not None else "",
        ]
        src = "; ".join(p for p in given if p) + (f" (else {src})" if None in (peak_tflops, peak_gbps) else "")
        estimated = estimated and None in (peak_tflops, peak_gbps)
    return DevicePeak(device_name, flops, bw, src, estimated)
