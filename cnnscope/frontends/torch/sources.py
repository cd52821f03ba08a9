"""Module sources -> an ``nn.Module`` and its input shape.

``pkg.mod:attr``, ``path/file.py:attr`` (a module instance, a class, or a factory; ``kwargs``
is a JSON object of its arguments), ``torchvision:name`` and ``timm:name``. Importing user
code runs it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import itertools
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from torch import nn

from cnnscope.errors import CnnscopeError, Interrupted, Location, SourceError, clip, did_you_mean

MAX_SOURCE_BYTES = 16 * 2**20  # a module file larger than this is not imported

DEFAULT_SHAPES = {"torchvision": (3, 224, 224)}


def parse_kwargs(text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            "bad-kwargs",
            f"--kwargs is not valid JSON: {exc.msg} (column {exc.colno})",
            hint="e.g. --kwargs '{\"num_classes\": 10}'",
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # a 5,000-digit number, 100,000 brackets
        raise SourceError(
            "bad-kwargs", f"--kwargs cannot be read: {clip(str(exc), 200) or type(exc).__name__}"
        ) from None
    if not isinstance(value, dict):
        raise SourceError("bad-kwargs", "--kwargs must be a JSON object of argument names to values")
    return value


def resolve_model(
    source: str, input_shape: tuple[int, ...] | None = None, kwargs: str | None = None
) -> tuple[nn.Module, tuple[int, ...]]:
    """The module a source names, and the input shape to use (no batch)."""
    prefix, _, attr = source.rpartition(":")
    if not prefix or not attr:
        raise SourceError(
            "bad-source", f"`{source}` is not `module:attr`", hint="e.g. mypkg.models:Net or model.py:Net"
        )
    kw = parse_kwargs(kwargs)
    if prefix == "torchvision":
        model = _from_torchvision(attr, kw)
    elif prefix == "timm":
        model = _from_timm(attr, kw)
    else:
        model = _instantiate(_import_attr(prefix, attr), kw, source)
    refuse_uncapturable(model, source)
    if input_shape is None and prefix == "torchvision":
        input_shape = _torchvision_shape(attr, model)
    shape = input_shape or _declared_shape(model, prefix, source)
    return model, tuple(shape)


def _torchvision_shape(name: str, model: nn.Module) -> tuple[int, ...]:
    """The input a torchvision builder is published at: its own ``image_size`` (ViT), else its
    weights' crop size (299 for Inception-v3, 256 for Swin-v2, 600 for EfficientNet-B7), with 16
    frames for the video models; 224 where the weights say nothing (detection, optical flow)."""
    import torchvision.models as tvm

    size: tuple[int, int] = (224, 224)
    own = getattr(model, "image_size", None)
    if isinstance(own, int) and own > 0:
        size = (own, own)
    else:
        try:
            crop = tvm.get_model_weights(name).DEFAULT.transforms.keywords.get("crop_size")
        except (AttributeError, ValueError, KeyError):
            crop = None
        if isinstance(crop, int):
            size = (crop, crop)
        elif isinstance(crop, (tuple, list)) and len(crop) == 2:
            size = (int(crop[0]), int(crop[1]))
    if tvm.get_model_builder(name).__module__.startswith("torchvision.models.video"):
        return (3, 16, *size)
    return (3, *size)


def _seeded(build: Callable[[], Any]) -> Callable[[], Any]:
    """The builder run with torch's generator seeded (and the caller's state restored after):
    the same source always gives the same random weights, so a data-dependent path (detection's
    proposals) is the same every run."""
    import torch

    def run() -> Any:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return build()

    return run


def refuse_uncapturable(model: nn.Module, source: str) -> None:
    """Lazy modules (no weights yet) and TorchScript modules (no Python forward) cannot be
    captured; say so rather than count them wrong."""
    import torch

    try:
        modules = list(model.named_modules())
    except Exception as exc:  # a broken module tree is the source's problem
        raise SourceError(
            "not-a-module", f"`{source}`: listing its submodules raised {type(exc).__name__}: {exc}"
        ) from None
    for name, m in modules:
        where = f"`{name}` ({type(m).__name__})" if name else f"`{source}` ({type(m).__name__})"
        if isinstance(m, torch.jit.ScriptModule):
            raise SourceError(
                "torchscript-module",
                f"TorchScript modules cannot be captured: pass the Python module ({where} is scripted or traced)",
                hint="point cnnscope at the nn.Module before torch.jit.script / torch.jit.trace",
            )
        if isinstance(m, nn.modules.lazy.LazyModuleMixin) and m.has_uninitialized_params():  # type: ignore[misc]
            raise SourceError(
                "lazy-module",
                f"lazy modules are not supported: run one forward pass first ({where} has no weights yet)",
                hint="call the model once on an example input in the factory, or use the non-lazy class",
            )


def _missing_extra(pkg: str) -> SourceError:
    return SourceError(
        "missing-extra",
        f"`{pkg}:` sources need {pkg}, which is not installed",
        hint=f"pip install 'cnnscope[{pkg}]' (or pip install {pkg})",
    )


def _from_torchvision(name: str, kw: dict[str, Any]) -> nn.Module:
    try:
        import torchvision.models as tvm
    except ImportError:
        raise _missing_extra("torchvision") from None
    names = list(tvm.list_models())
    if name not in names:
        raise SourceError("source-not-found", f"torchvision has no model `{name}`{did_you_mean(name, names)}")
    kw.setdefault("weights", None)  # architecture only: never download or unpickle weights
    builder = tvm.get_model_builder(name)
    try:
        accepts: Any = inspect.signature(builder).parameters
    except (TypeError, ValueError):  # pragma: no cover - every torchvision builder has a signature
        accepts = {}
    if "weights_backbone" in accepts:  # detection and segmentation builders load a backbone too
        kw.setdefault("weights_backbone", None)
    return _call(_seeded(lambda: tvm.get_model(name, **kw)), f"torchvision:{name}", builder, kw)


def _from_timm(name: str, kw: dict[str, Any]) -> nn.Module:
    try:
        import timm
    except ImportError:
        raise _missing_extra("timm") from None
    names = list(timm.list_models())
    if name not in names:
        raise SourceError("source-not-found", f"timm has no model `{name}`{did_you_mean(name, names)}")
    kw.setdefault("pretrained", False)
    return _call(_seeded(lambda: timm.create_model(name, **kw)), f"timm:{name}")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _user_failure(exc: BaseException, what: str, kind: str = "import-failed") -> SourceError:
    """A user's code raised (or exited): a SourceError at the line that raised it."""
    if isinstance(exc, Interrupted):  # Ctrl-C: not the source's failure
        raise exc
    if isinstance(exc, SyntaxError):
        loc = Location(exc.filename, exc.lineno, exc.offset) if exc.filename else None
        return SourceError(kind, f"{what}: SyntaxError: {exc.msg}", loc)
    if isinstance(exc, SystemExit):
        message = f"{what} called sys.exit({exc.code!r})"
        hint = "cnnscope's exit code is its own: a module source must not exit while it is imported or built"
    elif isinstance(exc, KeyboardInterrupt):
        message = f"{what} raised KeyboardInterrupt"
        hint = "only Ctrl-C interrupts cnnscope"
    else:
        message = f"{what} raised {type(exc).__name__}: {exc}"
        hint = None
    return SourceError(kind, message, _raising_line(exc), hint)


def _raising_line(exc: BaseException) -> Location | None:
    """The innermost frame of the traceback outside cnnscope and the import machinery."""
    here = str(Path(__file__).resolve().parents[2])
    loc = None
    for frame in traceback.extract_tb(exc.__traceback__):
        f = frame.filename
        if f.startswith("<") or f.startswith(here):
            continue
        loc = Location(f, frame.lineno)
    return loc


@contextmanager
def _no_bytecode() -> Iterator[None]:
    was = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = was


def _import_attr(prefix: str, attr: str) -> Any:
    path = Path(prefix)
    if prefix.endswith(".py") or _is_file(path):
        if not _is_file(path):
            raise SourceError("source-not-found", f"no such file `{prefix}`")
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            raise SourceError("source-not-found", f"cannot read `{prefix}`: {exc.strerror}") from None
        if size > MAX_SOURCE_BYTES:
            raise SourceError(
                "too-large", f"`{prefix}` is {size:,} bytes; a module file may be at most {MAX_SOURCE_BYTES:,}"
            )
        mod_name = f"_cnnscope_user_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise SourceError("source-not-found", f"cannot import `{prefix}` as Python")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = mod
        try:
            with _no_bytecode():  # leave the user's tree as it was: no __pycache__
                spec.loader.exec_module(mod)
        except BaseException as exc:
            sys.modules.pop(mod_name, None)
            raise _user_failure(exc, f"importing `{prefix}`") from None
    else:
        cwd = str(Path.cwd())
        added = cwd not in sys.path
        if added:  # `pkg.mod:Net` from the project folder, as `python -m` would find it
            sys.path.insert(0, cwd)
        try:
            with _no_bytecode():
                mod = importlib.import_module(prefix)
        except ModuleNotFoundError as exc:
            raise SourceError(
                "source-not-found",
                f"cannot import `{prefix}`: {exc}",
                hint="is it installed, or on PYTHONPATH? a file path needs its `.py`",
            ) from None
        except BaseException as exc:
            raise _user_failure(exc, f"importing `{prefix}`") from None
        finally:
            if added and cwd in sys.path:
                sys.path.remove(cwd)
    obj: Any = mod
    for part in attr.split("."):
        try:
            found = hasattr(obj, part)
            if found:
                obj = getattr(obj, part)
        except BaseException as exc:  # a module-level __getattr__ is user code too
            raise _user_failure(exc, f"reading `{prefix}:{attr}`") from None
        if not found:
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise SourceError("source-not-found", f"`{prefix}` has no attribute `{attr}`{did_you_mean(part, public)}")
    return obj


def _check_binding(fn: Any, kw: dict[str, Any], what: str) -> None:
    """--kwargs against the signature: only a call that cannot bind is a --kwargs problem."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: the call will tell
        return
    try:
        sig.bind(**kw)
    except TypeError as exc:
        params = [p for p in sig.parameters if p not in ("self", "args", "kwargs")]
        raise SourceError(
            "bad-kwargs",
            f"`{what}` cannot be called with --kwargs {json.dumps(kw)[:200]}: {exc}",
            hint=("its arguments: " + ", ".join(params)) if params else f"`{what}` takes no arguments",
        ) from None


def _call(fn: Callable[[], Any], what: str, target: Any = None, kw: dict[str, Any] | None = None) -> nn.Module:
    if target is not None:
        _check_binding(target, kw or {}, what)
    try:
        model = fn()
    except CnnscopeError:
        raise
    except BaseException as exc:
        raise _user_failure(exc, f"building `{what}`") from None
    if not isinstance(model, nn.Module):
        raise SourceError("not-a-module", f"`{what}` gave a {type(model).__name__}, not a torch.nn.Module")
    return model


def _instantiate(obj: Any, kw: dict[str, Any], source: str) -> nn.Module:
    if isinstance(obj, nn.Module):
        if kw:
            raise SourceError("bad-kwargs", f"`{source}` is a module instance; it takes no --kwargs")
        return obj
    if not callable(obj):
        raise SourceError("not-a-module", f"`{source}` is a {type(obj).__name__}, not a module class or factory")
    return _call(lambda: obj(**kw), source, obj, kw)


def _declared_shape(model: nn.Module, prefix: str, source: str) -> tuple[int, ...]:
    try:
        declared = getattr(model, "input_shape", None)
    except BaseException as exc:  # a property is user code too
        raise _user_failure(exc, f"reading `{source}`'s `input_shape`") from None
    if declared is None and prefix == "timm":
        cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {}
        declared = cfg.get("input_size")
    if declared is None:
        declared = DEFAULT_SHAPES.get(prefix)
    if declared is None:
        raise SourceError(
            "missing-input",
            f"`{source}` declares no input shape",
            hint="pass --input 3,224,224 (channels first, no batch), or give the module an `input_shape` attribute",
        )
    try:
        dims = tuple(int(d) for d in itertools.islice(declared, 5))  # an endless iterable stops at 5
    except (TypeError, ValueError, OverflowError):
        raise SourceError(
            "missing-input", f"`{source}`'s `input_shape` is not a list of sizes: {clip(repr(declared), 200)}"
        ) from None
    if not dims or len(dims) > 4 or any(d < 1 or d > 10**18 for d in dims):
        raise SourceError(
            "missing-input",
            f"`{source}`'s `input_shape` {clip(str(list(dims)), 200)} is not 1 to 4 positive sizes (at most 10^18)",
        )
    return dims
