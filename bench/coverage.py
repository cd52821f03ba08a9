"""Every real model, exactly: cnnscope against the torch oracle and peer tools on the whole zoo.

Models: every torchvision builder (classification, segmentation, video, detection, optical
flow: ``torchvision.models.list_models(module=...)``) and one timm model per timm module
("family", from ``timm.list_modules()``; the smallest candidate, picked deterministically).
Each is built with random weights (``weights=None``, ``weights_backbone=None``; timm
``pretrained=False``): nothing is downloaded.

Oracle: params = unique ``numel`` of ``model.parameters()``; MACs = FlopCounterMode / 2 of one
eval forward at batch 1 under ``no_grad``, with the CPU sdpa kernel counted and the fused
MultiheadAttention fast path off (``tests/torch_oracle.py``). "exact" = params equal and MACs
within 0.5 % of the oracle.

Peers (when installed): fvcore ``FlopCountAnalysis.total()`` + ``parameter_count``, torchinfo
``summary`` (total_mult_adds, total_params), ptflops with ``backend="aten"``.

Oracle and peer figures are cached in ``bench/coverage_cache.json`` (keyed by model, input and
torch / torchvision / timm versions): a re-run after a cnnscope change only re-runs cnnscope.
Results: ``bench/coverage_results.json``; a markdown summary on stdout.

    python bench/coverage.py                               # the whole zoo (fills the cache)
    python bench/coverage.py --group timm --models resnet10t,convnext_atto
    python bench/coverage.py --only-cnnscope               # cached oracle/peers; models not cached are skipped
    python bench/coverage.py --refresh --models vit_b_16   # recompute the oracle and peers
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import re
import signal
import statistics
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The oracle lives with the tests (tests/torch_oracle.py) so that the test suite and this bench
# share one definition of "true"; cnnscope/ ships no test code, and the bench imports nothing else
# from tests/.
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402
from torch_oracle import oracle  # noqa: E402

CACHE = ROOT / "bench" / "coverage_cache.json"
RESULTS = ROOT / "bench" / "coverage_results.json"
GROUPS = ("classification", "segmentation", "video", "detection", "optical_flow", "timm")
PEERS = ("fvcore", "ptflops", "torchinfo")
TOLERANCE = 0.005
STAGE_TIMEOUT_S = 600

# video models: (C, T, H, W) per builder (torchvision's eval sizes; the rest take 16x224x224)
VIDEO_SHAPES = {"r3d_18": (3, 16, 112, 112), "mc3_18": (3, 16, 112, 112), "r2plus1d_18": (3, 16, 112, 112)}
SIZE_WORDS = [
    "atto", "femto", "pico", "nano", "micro", "xxxs", "xxs", "xs", "tiny", "mini", "small",
    "lite", "s", "light", "b0", "t", "medium", "m", "base", "b",
]  # fmt: skip


@dataclass
class Case:
    group: str
    name: str
    shape: tuple[int, ...]  # one image, no batch
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"{'timm' if self.group == 'timm' else 'torchvision'}:{self.name}"

    @property
    def key(self) -> str:
        return f"{self.group}:{self.name}:{'x'.join(map(str, self.shape))}@{versions()}"

    def build(self) -> torch.nn.Module:
        torch.manual_seed(0)
        if self.group == "timm":
            import timm

            return timm.create_model(self.name, pretrained=False, **self.kwargs).eval()
        import torchvision.models as tvm

        return tvm.get_model(self.name, weights=None, **self.kwargs).eval()

    def args(self) -> tuple[Any, ...]:
        """The positional arguments of one eval forward at batch 1: the input cnnscope records with
        (torch.randn from a generator seeded 0), so a data-dependent path is the same path."""
        g = torch.Generator().manual_seed(0)
        x = torch.randn((1, *self.shape), generator=g)
        if self.group == "detection":
            return ([x[0]],)  # a list of images, as cnnscope's tensor iterates in eager mode
        if self.group == "optical_flow":
            return (x, torch.randn((1, *self.shape), generator=g))
        return (x,)


def versions() -> str:
    out = [f"torch{torch.__version__}"]
    for mod in ("torchvision", "timm"):
        with contextlib.suppress(ImportError):
            out.append(f"{mod}{__import__(mod).__version__}")
    return "/".join(out)


# -- the zoo ------------------------------------------------------------------------------------


def torchvision_cases(group: str) -> list[Case]:
    import torchvision.models as tvm

    module = {
        "classification": tvm,
        "segmentation": tvm.segmentation,
        "video": tvm.video,
        "detection": tvm.detection,
        "optical_flow": tvm.optical_flow,
    }[group]
    cases = []
    for name in sorted(tvm.list_models(module=module)):
        builder = tvm.get_model_builder(name)
        kw = {"weights_backbone": None} if "weights_backbone" in inspect.signature(builder).parameters else {}
        if group == "video":
            shape = VIDEO_SHAPES.get(name, (3, 16, 224, 224))
        elif name == "inception_v3":
            shape = (3, 299, 299)
        else:
            shape = (3, 224, 224)
        cases.append(Case(group, name, shape, kw))
    return cases


def _size_rank(name: str) -> tuple[int, int, str]:
    parts = re.split(r"[_\-.]", name)
    rank = min((SIZE_WORDS.index(p) for p in parts if p in SIZE_WORDS), default=len(SIZE_WORDS))
    return (rank, len(name), name)


def timm_cases(cache: dict[str, Any]) -> list[Case]:
    """One model per timm module: of the 4 best-ranked names (size words, then name length),
    the one with the fewest params x input pixels (built on the meta device)."""
    import timm

    key = f"timm-selection@{versions()}"
    if key not in cache:
        chosen: dict[str, list[Any]] = {}
        for module in sorted(timm.list_modules()):
            names = sorted(timm.list_models(module=module), key=_size_rank)[:4]
            best: tuple[float, str, list[int]] | None = None
            for name in names:
                try:
                    with torch.device("meta"), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        m = timm.create_model(name, pretrained=False)
                    shape = [int(d) for d in m.pretrained_cfg.get("input_size", (3, 224, 224))]
                    cost = sum(p.numel() for p in m.parameters()) * math.prod(shape[1:])
                except Exception:
                    continue
                if best is None or cost < best[0]:
                    best = (cost, name, shape)
            if best is None and names:
                best = (0.0, names[0], [3, 224, 224])
            if best is not None:
                chosen[module] = [best[1], best[2]]
        cache[key] = chosen
        save_json(CACHE, cache)
    return [Case("timm", name, tuple(shape)) for _, (name, shape) in sorted(cache[key].items())]


# -- measuring ---------------------------------------------------------------------------------


class StageTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise StageTimeout(f"timed out after {seconds} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _err(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


def guarded(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``fn(*args)`` under the stage time limit; an exception becomes ``{"error": ...}``."""
    t0 = time.perf_counter()
    try:
        with time_limit(STAGE_TIMEOUT_S), warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            out = dict(fn(*args))
    except Exception as exc:
        out = {"error": _err(exc)}
    out.setdefault("time_s", round(time.perf_counter() - t0, 3))
    return out


def run_fvcore(model: torch.nn.Module, args: tuple[Any, ...]) -> dict[str, Any]:
    from fvcore.nn import FlopCountAnalysis, parameter_count

    fa = FlopCountAnalysis(model, args)
    fa.unsupported_ops_warnings(False)
    fa.uncalled_modules_warnings(False)
    fa.tracer_warnings("none")
    t0 = time.perf_counter()
    macs = int(fa.total())
    dt = time.perf_counter() - t0
    return {"params": int(parameter_count(model)[""]), "macs": macs, "time_s": round(dt, 3)}


def run_torchinfo(model: torch.nn.Module, args: tuple[Any, ...]) -> dict[str, Any]:
    from torchinfo import summary

    s = summary(model, input_data=list(args), verbose=0, device="cpu", mode="eval")
    return {"params": int(s.total_params), "macs": int(s.total_mult_adds)}


def run_ptflops(model: torch.nn.Module, args: tuple[Any, ...], shape: tuple[int, ...]) -> dict[str, Any]:
    from ptflops import get_model_complexity_info

    names = [p for p in inspect.signature(model.forward).parameters if p not in ("self",)]
    kwargs = dict(zip(names, args))
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        macs, params = get_model_complexity_info(
            model,
            shape,
            input_constructor=lambda _res: kwargs,
            as_strings=False,
            print_per_layer_stat=False,
            verbose=False,
            backend="aten",
            ost=sink,
        )
    if macs is None:
        return {"error": "ptflops returned None (it swallowed an exception)"}
    return {"params": int(params), "macs": int(macs)}


def measure_reference(case: Case, peers: tuple[str, ...]) -> dict[str, Any]:
    """Oracle and peer figures for one model (the cached part)."""
    out: dict[str, Any] = {"source": case.source, "shape": list(case.shape), "versions": versions()}
    t0 = time.perf_counter()
    try:
        with time_limit(STAGE_TIMEOUT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = case.build()
    except Exception as exc:
        out["build_error"] = _err(exc)
        return out
    out["build_s"] = round(time.perf_counter() - t0, 3)
    args = case.args()
    out["oracle"] = guarded(oracle, model, args)
    for peer in peers:
        if peer == "fvcore":
            out[peer] = guarded(run_fvcore, model, args)
        elif peer == "torchinfo":
            out[peer] = guarded(run_torchinfo, model, args)
        elif peer == "ptflops":
            out[peer] = guarded(run_ptflops, model, args, case.shape)
    del model
    return out


def measure_speed(case: Case, rounds: int) -> dict[str, Any]:
    """cnnscope's capture + analyze against fvcore's ``FlopCountAnalysis(...).total()`` on one
    built model (the build is neither's cost), alternating round by round; minima over rounds."""
    import cnnscope
    from cnnscope.frontends.torch.capture import capture

    try:
        with time_limit(STAGE_TIMEOUT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = case.build()
            args = case.args()
            ours: list[float] = []
            theirs: list[float] = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                cnnscope.analyze(capture(model, case.shape), batch=1)
                ours.append(time.perf_counter() - t0)
                theirs.append(float(guarded(run_fvcore, model, args)["time_s"]))
    except Exception as exc:
        return {"error": _err(exc)}
    return {"cnnscope_s": round(min(ours), 4), "fvcore_s": round(min(theirs), 4), "rounds": rounds}


def _count(value: Any) -> int:
    """A count from graph.extras: an int, or a dict of them (``{"trainable": n, "non_trainable": m}``)."""
    if isinstance(value, dict):
        return sum(_count(v) for v in value.values())
    return int(value or 0)


def _op_counts(value: Any) -> dict[str, int]:
    """``{op: nodes}`` from graph.extras' ``unsupported`` / ``opaque`` (a dict, or a list of names)."""
    if isinstance(value, dict):
        return {str(k): _count(v) for k, v in value.items()}
    out: dict[str, int] = {}
    for name in value or ():
        out[str(name)] = out.get(str(name), 0) + 1
    return out


def measure_cnnscope(case: Case) -> dict[str, Any]:
    import cnnscope

    opts: dict[str, Any] = {"kwargs": json.dumps(case.kwargs)} if case.kwargs else {}
    out: dict[str, Any] = {}
    torch.manual_seed(0)
    t0 = time.perf_counter()
    try:
        with time_limit(STAGE_TIMEOUT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = cnnscope.load(case.source, case.shape, **opts)
            t1 = time.perf_counter()
            report = cnnscope.analyze(graph, batch=1)
            t2 = time.perf_counter()
    except Exception as exc:
        out["error"] = _err(exc)
        out["time_s"] = round(time.perf_counter() - t0, 3)
        return out
    try:  # the report's shape may change under a frontend rewrite: a bench error, not a crash
        extras = graph.extras
        unsupported = _op_counts(extras.get("unsupported"))
        opaque = _op_counts(extras.get("opaque"))
        out.update(
            params=int(report.totals["params"]),
            macs=int(report.totals["macs"]),
            unsupported=unsupported,
            opaque=opaque,
            # complete: every node's cost is known (analyzed, or an opaque node the dispatcher
            # measured); opaque nodes are counted apart (they have no RF, explain or export)
            complete=not unsupported and not report.totals.get("incomplete", False),
            unused_params=_count(extras.get("unused_params")),
            capture=extras.get("capture"),
            fx_error=extras.get("fx_error"),
            load_s=round(t1 - t0, 3),
            analyze_s=round(t2 - t1, 3),
        )
    except Exception as exc:
        out["error"] = f"reading the report: {_err(exc)}"
    return out


# -- judging -------------------------------------------------------------------------------------


def verdict(fig: dict[str, Any] | None, ref: dict[str, Any] | None) -> tuple[bool | None, str]:
    """(exact?, what is wrong) of a tool's figures against the oracle; None when no oracle."""
    if not ref or "error" in ref or "params" not in ref:
        return None, "no oracle"
    if not fig:
        return False, "not run"
    if "error" in fig:
        return False, f"error: {fig['error']}"
    why = []
    if fig["params"] != ref["params"]:
        why.append(f"params {fig['params'] - ref['params']:+,}")
    macs_ok = fig["macs"] == 0 if ref["macs"] == 0 else abs(fig["macs"] / ref["macs"] - 1) <= TOLERANCE
    if not macs_ok:
        ratio = fig["macs"] / ref["macs"] if ref["macs"] else float("inf")
        why.append(f"macs x{ratio:.4f}")
    return not why, ", ".join(why)


def cnnscope_reasons(res: dict[str, Any]) -> tuple[bool | None, str]:
    ok, why = verdict(res.get("cnnscope"), res.get("oracle"))
    c = res.get("cnnscope") or {}
    extra = []
    if c.get("unsupported"):
        extra.append("unsupported " + ", ".join(f"{k}×{v}" for k, v in sorted(c["unsupported"].items())))
    if c.get("opaque"):
        extra.append("opaque " + ", ".join(f"{k}×{v}" for k, v in sorted(c["opaque"].items())))
    if c.get("unused_params"):
        extra.append(f"unused_params {c['unused_params']:,}")
    if ok and not c.get("complete", False):
        ok = False  # the right totals with nodes of unknown cost in the graph: still a failure
        extra.insert(0, "incomplete")
    return ok, "; ".join(p for p in (why, *extra) if p)


def table(results: list[dict[str, Any]], peers: tuple[str, ...]) -> str:
    """Models exact per group and tool (models without an oracle are left out)."""
    cols = ["cnnscope", "cnnscope-no-opaque", *peers]
    heads = {
        "cnnscope": "cnnscope",
        "cnnscope-no-opaque": "… with no opaque node",
        "fvcore": "fvcore",
        "ptflops": "ptflops (aten)",
        "torchinfo": "torchinfo",
    }
    lines = [
        "| group | models | " + " | ".join(heads[c] for c in cols) + " |",
        "|---|---:|" + "---:|" * len(cols),
    ]
    for group in [*GROUPS, "all"]:
        rows = results if group == "all" else [r for r in results if r["group"] == group]
        rows = [r for r in rows if verdict({"params": 0, "macs": 0}, r.get("oracle"))[0] is not None]
        if not rows:
            continue
        cells = []
        for c in cols:
            if c == "cnnscope":
                n = sum(1 for r in rows if cnnscope_reasons(r)[0])
            elif c == "cnnscope-no-opaque":
                n = sum(1 for r in rows if cnnscope_reasons(r)[0] and not (r.get("cnnscope") or {}).get("opaque"))
            else:
                n = sum(1 for r in rows if verdict(r.get(c), r.get("oracle"))[0])
            cells.append(f"{n}/{len(rows)}")
        label = "**all**" if group == "all" else group
        lines.append(f"| {label} | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def op_census(results: list[dict[str, Any]]) -> str:
    """Unsupported / opaque op names over all models: in how many models, how many nodes."""
    models: dict[tuple[str, str], set[str]] = {}
    nodes: dict[tuple[str, str], int] = {}
    for r in results:
        c = r.get("cnnscope") or {}
        for kind in ("unsupported", "opaque"):
            for op, n in (c.get(kind) or {}).items():
                # extra outputs of one op (`split[1]`, `topk_12[1]`, `layer1.0.split[2]`): one name
                key = (kind, re.sub(r"(_\d+)?\[\d+\]$", "[k]", op.rsplit(".", 1)[-1]))
                models.setdefault(key, set()).add(r["name"])
                nodes[key] = nodes.get(key, 0) + int(n)
    lines = ["| kind | op | models | nodes |", "|---|---|---:|---:|"]
    for key in sorted(models, key=lambda k: (-len(models[k]), -nodes[k], k)):
        lines.append(f"| {key[0]} | `{key[1]}` | {len(models[key])} | {nodes[key]} |")
    return "\n".join(lines)


def failures(results: list[dict[str, Any]]) -> str:
    lines = ["| group | model | what's wrong |", "|---|---|---|"]
    for r in results:
        if r.get("build_error"):
            lines.append(f"| {r['group']} | {r['name']} | (not built: {r['build_error']}) |")
            continue
        if (r.get("oracle") or {}).get("error"):
            lines.append(f"| {r['group']} | {r['name']} | (no oracle: {r['oracle']['error']}) |")
            continue
        ok, why = cnnscope_reasons(r)
        if ok is False:
            lines.append(f"| {r['group']} | {r['name']} | {why.replace('|', '/')} |")
    return "\n".join(lines)


def timings(results: list[dict[str, Any]]) -> str:
    fv = [r["fvcore"]["time_s"] for r in results if (r.get("fvcore") or {}).get("macs") is not None]
    cs = [
        r["cnnscope"]["load_s"] + r["cnnscope"]["analyze_s"]
        for r in results
        if (r.get("cnnscope") or {}).get("load_s") is not None
    ]
    build = [r["build_s"] for r in results if r.get("build_s") is not None]
    parts = []
    paired = [r["speed"] for r in results if "cnnscope_s" in (r.get("speed") or {})]
    if paired:
        ratios = [p["cnnscope_s"] / p["fvcore_s"] for p in paired if p["fvcore_s"] > 0]
        parts.append(
            f"side by side on the built model (--speed, min of rounds): cnnscope capture + analyze median "
            f"{statistics.median(p['cnnscope_s'] for p in paired):.3f} s, fvcore "
            f"{statistics.median(p['fvcore_s'] for p in paired):.3f} s; cnnscope / fvcore per model: median "
            f"{statistics.median(ratios):.2f}, {sum(r <= 0.5 for r in ratios)} of {len(ratios)} at or below 0.5"
        )
    if cs:
        parts.append(f"cnnscope load (build + capture) + analyze: median {statistics.median(cs):.2f} s over {len(cs)}")
    if build:
        parts.append(f"model build alone: median {statistics.median(build):.2f} s")
    if fv:
        parts.append(f"fvcore FlopCountAnalysis.total(): median {statistics.median(fv):.2f} s over {len(fv)}")
    return "; ".join(parts)


# -- main ----------------------------------------------------------------------------------------


def load_json(path: Path) -> dict[str, Any]:
    if path.is_file():
        return dict(json.loads(path.read_text()))
    return {}


def save_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def available_peers() -> tuple[str, ...]:
    out = []
    for peer in PEERS:
        try:
            __import__(peer)
        except ImportError:
            continue
        out.append(peer)
    return tuple(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--group", action="append", choices=GROUPS, help="only these groups (repeatable)")
    ap.add_argument("--models", help="comma-separated model names (any group)")
    ap.add_argument("--only-cnnscope", action="store_true", help="use cached oracle/peer figures only")
    ap.add_argument("--refresh", action="store_true", help="recompute the oracle and peers of the chosen models")
    ap.add_argument("--no-peers", action="store_true", help="oracle only, no fvcore / torchinfo / ptflops")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--report", action="store_true", help="print the tables of the results file; run nothing")
    ap.add_argument(
        "--speed",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="also time capture + analyze against fvcore on each built model, alternating ROUNDS rounds",
    )
    a = ap.parse_args(argv)
    if a.report:
        saved = load_json(a.results)
        print(summary(saved.get("models", []), available_peers(), saved.get("versions", "")))
        return 0
    torch.set_num_threads(a.threads)
    peers = () if a.no_peers else available_peers()

    cache = load_json(CACHE)
    groups = a.group or list(GROUPS)
    cases: list[Case] = []
    for g in groups:
        try:
            cases += timm_cases(cache) if g == "timm" else torchvision_cases(g)
        except ImportError as exc:
            print(f"skipping {g}: {exc}", file=sys.stderr)
    if a.models:
        wanted = {m.strip() for m in a.models.split(",") if m.strip()}
        cases = [c for c in cases if c.name in wanted]
        missing = wanted - {c.name for c in cases}
        if missing and "timm" in groups:  # any timm model by name, not only the family picks
            import timm

            for name in sorted(missing & set(timm.list_models())):
                cfg = timm.get_pretrained_cfg(name)
                cases.append(Case("timm", name, tuple(getattr(cfg, "input_size", None) or (3, 224, 224))))
            missing -= {c.name for c in cases}
        if missing:
            print(f"not in the chosen groups: {', '.join(sorted(missing))}", file=sys.stderr)

    previous = {(r["group"], r["name"]): r for r in load_json(a.results).get("models", [])}
    results = []
    for i, case in enumerate(cases, 1):
        t0 = time.perf_counter()
        ref = cache.get(case.key)
        if ref is None or a.refresh:
            if a.only_cnnscope:
                print(f"[{i}/{len(cases)}] {case.source}: not cached, skipped", file=sys.stderr)
                continue
            try:
                ref = measure_reference(case, peers)
            except Exception:
                ref = {"build_error": traceback.format_exc(limit=1).strip().splitlines()[-1]}
            cache = load_json(CACHE) | {case.key: ref}  # re-read: another run may have added keys
            save_json(CACHE, cache)
        res = {"group": case.group, "name": case.name, "source": case.source, "shape": list(case.shape), **ref}
        res["cnnscope"] = measure_cnnscope(case) if "build_error" not in ref else {"error": "not built"}
        if a.speed and "build_error" not in ref:
            res["speed"] = measure_speed(case, a.speed)
        elif (previous.get((case.group, case.name)) or {}).get("speed"):
            res["speed"] = previous[(case.group, case.name)]["speed"]  # kept from the last --speed run
        ok, why = cnnscope_reasons(res)
        res["cnnscope_exact"] = ok
        results.append(res)
        previous[(case.group, case.name)] = res
        save_json(a.results, {"versions": versions(), "models": list(previous.values())})
        mark = {True: "exact", False: "FAIL", None: "?"}[ok]
        print(f"[{i}/{len(cases)}] {case.source} {mark} {why} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)

    print(summary(results, peers, versions()))
    return 0


def summary(results: list[dict[str, Any]], peers: tuple[str, ...], version: str) -> str:
    return "\n".join(
        [
            f"## cnnscope coverage ({version})\n",
            "Exact = params equal and MACs within 0.5 % of FlopCounterMode / 2 (sdpa counted, MHA fast path off);",
            "for cnnscope also a complete graph: no node of unknown cost (opaque nodes, whose MACs the\n"
            "dispatcher measured, are counted apart).\n",
            table(results, peers),
            f"\n{timings(results)}\n",
            "### cnnscope failures\n",
            failures(results),
            "\n### unsupported / opaque ops, over all models\n",
            op_census(results),
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
