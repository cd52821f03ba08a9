"""What the shift measurement found (:mod:`cnnscope.profile.shift`): each layer's error curves
by fill and region, with mean and spread over the samples, and the figures a table row shows
(imports torch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class Stat:
    mean: float
    std: float
    n: int

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "n": self.n}


def stat_of(values: Sequence[float]) -> Stat:
    """The samples' mean and population standard deviation (0 for one sample)."""
    t = torch.tensor(values, dtype=torch.float64)
    std = float(t.std(unbiased=False)) if len(values) > 1 else 0.0
    return Stat(float(t.mean()), std, len(values))


@dataclass
class LayerShift:
    """The measured errors of one layer: ``errors[fill][region][shift]`` (None: no such region)."""

    name: str
    lattice: int | None  # the analytic lattice along the shifted dims (lcm), None when there is none
    errors: dict[str, dict[str, dict[int, Stat | None]]]
    positions: dict[int, int | None]  # interior positions compared per shift (circular pass), None: no interior

    def curve(self, fill: str, region: str) -> dict[int, Stat | None]:
        return self.errors.get(fill, {}).get(region, {})

    def vanishes_at(self, fill: str, region: str, tol: float) -> int | None:
        """The smallest measured shift whose error is at most ``tol`` (None: none is)."""
        for s, st in sorted(self.curve(fill, region).items()):
            if st is not None and st.mean <= tol:
                return s
        return None

    def headline(self) -> tuple[str, str]:
        """(fill, region) the table shows: the interior where it exists at every shift, else the torus."""
        cur = self.curve("circular", "interior") or self.curve("zeros", "interior")
        if cur and all(v is not None for v in cur.values()):
            return ("circular" if self.curve("circular", "interior") else "zeros"), "interior"
        return ("circular" if self.curve("circular", "whole") else "zeros"), "whole"

    def to_json(self, tol: float) -> dict[str, Any]:
        fill, region = self.headline()
        return {
            "lattice": self.lattice,
            "region": region,
            "fill": fill,
            "measured_lattice": self.vanishes_at(fill, region, tol),
            "errors": {
                f: {r: {str(s): (v.to_json() if v else None) for s, v in c.items()} for r, c in rs.items()}
                for f, rs in self.errors.items()
            },
            "interior_positions": {str(s): n for s, n in self.positions.items()},
        }


@dataclass
class ShiftMeasurement:
    shifts: list[int]
    dims: tuple[int, ...]  # spatial dims shifted, 0-based
    dim_labels: list[str]
    inputs: int
    seeds: int
    fills: tuple[str, ...]
    tol: float
    device: str
    layers: dict[str, LayerShift]
    consistency: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """How it was measured, and the consistency (each layer's curves are its LayerShift's)."""
        return {
            "shifts": list(self.shifts),
            "along": self.dim_labels,
            "inputs_per_seed": self.inputs,
            "seeds": self.seeds,
            "fills": list(self.fills),
            "tolerance": self.tol,
            "device": self.device,
            "input_distribution": "i.i.d. standard normal",
            "initialization": "PyTorch default, eval mode",
            "consistency": self.consistency,
            "notes": self.notes,
        }


def table_fields(layer: LayerShift, tol: float) -> dict[str, Any]:
    """The numbers a table row shows: the error off the lattice (at the smallest measured shift
    that is not a multiple of it) and at the lattice shift, in the headline region; the torus and
    the zero-filled whole map at the lattice shift; the measured lattice."""
    fill, region = layer.headline()
    curve = layer.curve(fill, region)
    lat = layer.lattice
    off_s = next((s for s in sorted(curve) if lat is None or s % lat), None)
    off = curve.get(off_s) if off_s is not None else None
    on = curve.get(lat) if lat is not None else None
    torus = layer.curve("circular", "whole").get(lat) if lat is not None else None
    zeros = layer.curve("zeros", "whole").get(lat) if lat is not None else None
    return {
        "region": "interior" if region == "interior" else "whole map",
        "off_shift": off_s,
        "off": off.mean if off else None,
        "off_std": off.std if off else None,
        "on": on.mean if on else None,
        "on_std": on.std if on else None,
        "torus": torus.mean if torus else None,
        "zeros": zeros.mean if zeros else None,
        "measured_lattice": layer.vanishes_at(fill, region, tol),
    }
