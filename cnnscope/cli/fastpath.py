"""The fast path: the everyday command line read straight from the commands' declarations
(cnnscope/cli/app.py), and the command called without importing typer or click.

It declines (``run`` returns None, and typer runs the command) whatever it is not sure to read
as click does: no command, help, ``--``, ``-`` alone, a short option joined to its value, an
option given twice (but a list option), a value that starts with ``-``, a number written other
than in plain digits (``+3``, ``1_000``, `` 3``), a type other than str, int, float, bool,
``X | None`` of those or of Path, ``list[X] | None`` (an option given any number of times, or
a last argument taking every value left); a parameter setting other than help text,
completion, ``is_eager`` and a callback of the value alone; a command setting other than its
help panel; a shell-completion request. What it takes, it turns into the values typer passes:
tests/test_fastpath.py holds it to typer's own parse for every command. Parameter callbacks must
be pure (one that fails sends the command to typer, which calls it again and reports it).
"""

from __future__ import annotations

import os
import sys
import types
import typing
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from cnnscope.cli.app import Abort, Exit, Param
from cnnscope.errors import CnnscopeError

if TYPE_CHECKING:
    from cnnscope.cli.app import App

_MISSING: Any = object()
# parameter settings only help and completion read
_DISPLAY = frozenset({"help", "show_default", "metavar", "rich_help_panel", "autocompletion", "hidden"})
_COMMAND_DISPLAY = frozenset({"rich_help_panel", "hidden", "short_help", "epilog"})
_VARARGS = 0x04 | 0x08  # CO_VARARGS | CO_VARKEYWORDS


def run(app: App, args: Sequence[str]) -> tuple[Any] | None:
    """Run ``args`` when the fast path reads them: ``(the command's return value,)``; None when
    typer must run them (nothing has run then but pure callbacks)."""
    if not args or "_CNNSCOPE_COMPLETE" in os.environ or "_TYPER_COMPLETE_ARGS" in os.environ:
        return None
    root = specs_of(app.root) if app.root is not None else []
    k = 0
    while k < len(args) and args[k].startswith("-"):
        k += 1
    if root is None or not all(s.flag for s in root):
        return None
    root_parsed = parse(root, args[:k])
    if root_parsed is None:
        return None
    if k == len(args):  # `cnnscope --version`: an eager callback ends it, or typer says what is missing
        _callbacks(root, *root_parsed)
        return None
    from cnnscope.cli import COMMANDS

    module = COMMANDS.get(args[k])
    if module is None:
        return None
    import_module(f"cnnscope.cli.{module}")
    info = next((c for c in app.registered_commands if c.command_name == args[k]), None)
    if info is None or set(info.kwargs) - _COMMAND_DISPLAY:
        return None
    specs = specs_of(info.callback)
    parsed = parse(specs, args[k + 1 :]) if specs is not None else None
    if parsed is None or specs is None:
        return None
    try:  # click's order: the group's parameters, the group, the command's, the command
        if not _callbacks(root, *root_parsed):
            return None
        assert app.root is not None
        app.root(**root_parsed[0])
        if not _callbacks(specs, *parsed):
            return None
        return (info.callback(**parsed[0]),)
    except KeyboardInterrupt:  # typer's Exit(130)
        return (130,)
    except EOFError as exc:  # click's Abort, after a new line
        sys.stderr.write("\n")
        sys.stderr.flush()
        raise Abort() from exc


class Spec:
    """One parameter as click parses it: an argument, an option taking a value, or a flag."""

    __slots__ = ("argument", "callback", "default", "eager", "flag", "multiple", "name", "off", "opts", "type")

    def __init__(
        self,
        name: str,
        argument: bool,
        type_: type,
        default: Any,
        opts: tuple[str, ...] = (),
        off: tuple[str, ...] = (),
        callback: Callable[[Any], Any] | None = None,
        eager: bool = False,
        multiple: bool = False,
    ) -> None:
        self.name, self.argument, self.type, self.default = name, argument, type_, default
        self.opts, self.off, self.callback, self.eager, self.multiple = opts, off, callback, eager, multiple
        self.flag = type_ is bool and not argument


def specs_of(fn: Callable[..., Any]) -> list[Spec] | None:
    """The parameters of a command function, or None when any is beyond the fast path."""
    code = fn.__code__
    if code.co_flags & _VARARGS:
        return None
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    pos_defaults = fn.__defaults__ or ()
    defaults = dict(zip(names[code.co_argcount - len(pos_defaults) : code.co_argcount], pos_defaults, strict=True))
    defaults.update(fn.__kwdefaults__ or {})
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:
        return None
    specs: list[Spec] = []
    taken: set[str] = set()
    for name in names:
        spec = _spec(name, hints.get(name, _MISSING), defaults.get(name, _MISSING))
        if spec is None or taken & {*spec.opts, *spec.off}:
            return None
        taken.update(spec.opts, spec.off)
        specs.append(spec)
    return specs


def _spec(name: str, hint: Any, default: Any) -> Spec | None:
    if isinstance(default, Param):
        return None
    info: Param | None = None
    base = hint
    if typing.get_origin(hint) is Annotated:
        base, *meta = typing.get_args(hint)
        if len(meta) != 1 or not isinstance(meta[0], Param):
            return None
        info = meta[0]
    type_, multiple = _simple(base)
    kwargs = info.kwargs if info is not None else {}
    callback = kwargs.get("callback")
    if type_ is None or set(kwargs) - _DISPLAY - {"callback", "is_eager"} or not _value_callback(callback):
        return None
    if (info.kind if info is not None else ("argument" if default is _MISSING else "option")) == "argument":
        if type_ is bool or kwargs.get("is_eager") or (type_ is Path and default not in (None, _MISSING)):
            return None
        if multiple and default is not None:  # `list[X] | None = None`: any number of values
            return None
        return Spec(name, True, type_, default, callback=callback, multiple=multiple)
    flag = type_ is bool
    if default is _MISSING:
        return None  # a required option: typer says what is missing
    if (flag and not isinstance(default, bool)) or ((multiple or type_ is Path) and default is not None):
        return None
    command_name = name.lower().replace("_", "-")
    decls = (info.decls if info is not None else ()) or (
        (f"--{command_name}/--no-{command_name}",) if flag else (f"--{command_name}",)
    )
    on: list[str] = []
    off: list[str] = []
    for decl in decls:
        first, slash, second = decl.partition("/")
        on.append(first.strip())
        if slash:
            off.append(second.strip())
    if (off and not flag) or (flag and default and not off) or not all(map(_option_name, on + off)):
        return None
    return Spec(name, False, type_, default, tuple(on), tuple(off), callback, bool(kwargs.get("is_eager")), multiple)


def _simple(hint: Any) -> tuple[type | None, bool]:
    """str, int, float or bool; ``X | None`` of the first three or of Path; ``list[X] | None``
    (an option given any number of times): the type and whether it is a list."""
    if hint in (str, int, float, bool):
        return typing.cast(type, hint), False
    args = typing.get_args(hint)
    if (isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union) and len(args) == 2:
        (rest,) = [a for a in args if a is not type(None)] or [None]
        if rest in (str, int, float, Path):
            return typing.cast(type, rest), False
        if typing.get_origin(rest) is list and typing.get_args(rest)[0] in (str, int, float):
            return typing.cast(type, typing.get_args(rest)[0]), True
    return None, False


def _value_callback(cb: Any) -> bool:
    """No callback, or a plain function of the value alone (typer passes it the value)."""
    if cb is None:
        return True
    code = getattr(cb, "__code__", None)
    if not isinstance(cb, types.FunctionType) or code is None or code.co_argcount != 1 or code.co_flags & _VARARGS:
        return False
    return not any("typer" in str(a) or "click" in str(a) for a in cb.__annotations__.values())


def _option_name(opt: str) -> bool:
    if len(opt) == 2:
        return opt[0] == "-" and opt[1].isascii() and opt[1].isalnum()
    word = opt[2:]
    return (
        opt[:2] == "--" and word.isascii() and word[:1].isalnum() and word.replace("-", "").replace("_", "").isalnum()
    )


def parse(specs: list[Spec], tokens: Sequence[str]) -> tuple[dict[str, Any], list[str]] | None:
    """``tokens`` as click would read them for ``specs``: the values (defaults filled in,
    callbacks not run) and the names in click's invocation order (options as given, then the
    arguments); None when the fast path declines."""
    by_name: dict[str, tuple[Spec, bool]] = {}
    for s in specs:
        by_name.update({o: (s, True) for o in s.opts})
        by_name.update({o: (s, False) for o in s.off})
    values: dict[str, Any] = {}
    positional: list[str] = []
    k = 0
    while k < len(tokens):
        tok = tokens[k]
        k += 1
        if not tok.startswith("-"):
            positional.append(tok)
            continue
        name, eq, value = tok.partition("=") if tok.startswith("--") else (tok, "", "")
        hit = by_name.get(name)
        if hit is None or (hit[0].name in values and not hit[0].multiple):
            return None  # help, `--`, `-`, clustered short options, unknown, repeated: typer's
        spec, on = hit
        if spec.flag:
            if eq:
                return None
            values[spec.name] = on
            continue
        if not eq:
            if k == len(tokens) or tokens[k].startswith("-"):
                return None
            value, k = tokens[k], k + 1
        converted = _convert(spec.type, value)
        if converted is _MISSING:
            return None
        if spec.multiple:
            values.setdefault(spec.name, []).append(converted)  # typer's list, in the order given
        else:
            values[spec.name] = converted
    arguments = [s for s in specs if s.argument]
    rest = arguments[-1] if arguments and arguments[-1].multiple else None  # takes what the others leave
    fixed = arguments[:-1] if rest is not None else arguments
    if any(s.multiple for s in fixed) or (rest is None and len(positional) > len(fixed)):
        return None
    for s, text in zip(fixed, positional, strict=False):
        values[s.name] = _convert(s.type, text)
        if values[s.name] is _MISSING:
            return None
    if rest is not None and len(positional) > len(fixed):
        items = [_convert(rest.type, text) for text in positional[len(fixed) :]]
        if any(v is _MISSING for v in items):
            return None
        values[rest.name] = items  # none given: its default (None), as typer passes it
    order = list(values)
    for s in specs:
        if s.name not in values:
            if s.default is _MISSING or isinstance(s.default, Param):
                return None
            values[s.name] = s.default if s.default is None or s.flag else s.type(s.default)  # click converts defaults
    return values, order


def _convert(type_: type, text: str) -> Any:
    if type_ is str:
        return text
    if type_ is Path:  # click.Path() as typer makes it: an existing path must be readable; then Path
        return _MISSING if os.path.exists(text) and not os.access(text, os.R_OK) else Path(text)
    digits = text[1:] if text[:1] == "-" else text
    if type_ is int:
        return int(text) if digits.isascii() and digits.isdigit() and len(text) <= 19 else _MISSING
    mantissa, e, exponent = digits.lower().partition("e")
    whole, _dot, frac = mantissa.partition(".")
    exp_digits = exponent[1:] if exponent[:1] in ("+", "-") else exponent
    plain = (
        mantissa.isascii()
        and (whole + frac).isdigit()
        and (whole.isdigit() or not whole)
        and (frac.isdigit() or not frac)
    )
    if not plain or (e and not (exp_digits.isascii() and exp_digits.isdigit())) or len(text) > 40:
        return _MISSING
    return float(text)


def _callbacks(specs: list[Spec], values: dict[str, Any], order: list[str]) -> bool:
    """Run the parameters' callbacks in click's order (eager first, then as invoked, then as
    declared); False when one fails (typer then says so)."""
    rank = {name: i for i, name in enumerate(order)}
    todo = sorted(
        (s for s in specs if s.callback is not None), key=lambda s: (not s.eager, rank.get(s.name, len(rank)))
    )
    for s in todo:
        assert s.callback is not None
        try:
            values[s.name] = s.callback(values[s.name])
        except (Exit, CnnscopeError):  # typer lets these through as they are
            raise
        except Exception:
            return False
    return True
