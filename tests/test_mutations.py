"""Bad input, generated: mutate valid specs in ways that must break them, and check that
every broken spec gives exactly one located diagnostic and exit code 2 — never a traceback,
within a bounded time, printing at most a few KB, and leaving the working tree unchanged.

The generator is seeded (fixed in CI); ``CNNSCOPE_MUTATION_SEED`` and
``CNNSCOPE_MUTATIONS`` (count) widen the campaign locally. The spec mutations cover every
class of issue #20 that a spec file can carry (shares, huge integers, unbounded
expressions, block arithmetic, non-finite numbers, huge quoted text, names that clash with
generated ones, dangling `output:`); tests/test_unbreakable.py holds the classes that live
on the command line, in the config, in module sources and in the process (pipes, signals).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cnnscope.cli.main import main

SPECS = Path(__file__).resolve().parents[1] / "specs"
SEED = int(os.environ.get("CNNSCOPE_MUTATION_SEED", "20261123"))
COUNT = int(os.environ.get("CNNSCOPE_MUTATIONS", "420"))
MAX_OUTPUT = 4096  # bytes a refusal may print, stdout and stderr together
HANG_S = 20  # a case still running after this long is a hang (not a timing assertion)

_ENTRY = re.compile(r"^(\s*- )\{(.*)\}\s*(#.*)?$")
_INT_FIELD = re.compile(r"\b(out_channels|kernel_size|out_features|stride): (\d+)")


def _entries(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if _ENTRY.match(line)]


Mutation = Callable[[random.Random, str], "bytes | str | None"]


def truncate_in_flow(rng: random.Random, text: str) -> str | None:
    """Cut the file inside a `{...}` entry: an unclosed flow mapping."""
    lines = text.splitlines()
    idx = _entries(lines)
    if not idx:
        return None
    i = rng.choice(idx)
    line = lines[i]
    cut = rng.randrange(line.index("{") + 1, line.rindex("}"))
    return "\n".join([*lines[:i], line[:cut]]) + "\n"


def unknown_type(rng: random.Random, text: str) -> str | None:
    m = list(re.finditer(r"type: ([a-z0-9]+)", text))
    if not m:
        return None
    hit = rng.choice(m)
    bad = hit.group(1) + rng.choice(["x", "_", "2", "s"])
    if bad in ("conv2", "relu62"):
        bad += "q"
    return text[: hit.start(1)] + bad + text[hit.end(1) :]


def swapped_type(rng: random.Random, text: str) -> str | None:
    """A conv's type replaced by one that has none of its fields (relu, identity, ...)."""
    m = list(re.finditer(r"type: (conv2d|linear|maxpool2d|batchnorm2d)\b(?=[^}]*\w+:)", text))
    m = [
        x
        for x in m
        if re.search(r"\b(out_channels|kernel_size|out_features|eps|bias)\b", text[x.end() :].split("}")[0])
    ]
    if not m:
        return None
    hit = rng.choice(m)
    return text[: hit.start(1)] + rng.choice(["relu", "identity", "sigmoid", "flatten"]) + text[hit.end(1) :]


def unknown_key(rng: random.Random, text: str) -> str | None:
    lines = text.splitlines()
    idx = [i for i in _entries(lines) if "type:" in lines[i]]
    if not idx:
        return None
    i = rng.choice(idx)
    key = rng.choice(["kernal_size", "in_channels", "strides", "paddin", "activation", "num_features"])
    lines[i] = lines[i].replace("{", "{" + f"{key}: 3, ", 1)
    return "\n".join(lines) + "\n"


def _field_hits(text: str) -> list[re.Match[str]]:
    """Integer fields of layers (not block arguments' defaults, which an instance may override)."""
    return [x for x in _INT_FIELD.finditer(text) if "args:" not in text[text.rfind("\n", 0, x.start()) : x.start()]]


def bad_int(rng: random.Random, text: str) -> str | None:
    m = _field_hits(text)
    if not m:
        return None
    hit = rng.choice(m)
    field = hit.group(1)
    if field == "kernel_size":
        value = rng.choice(["-3", "0", "10000000000", "3.5", "'three'", "[]", "null", "true"])
    else:  # (null is a valid stride: the kernel size)
        value = rng.choice(
            ["-1", "0", "1.5", "'x'", "[1, 2, 3, 4]", "null" if field != "stride" else "-2", "{a: 1}", "false"]
        )
    return text[: hit.start(2)] + value + text[hit.end(2) :]


def dangling_from(rng: random.Random, text: str) -> str | None:
    lines = text.splitlines()
    idx = [i for i in _entries(lines) if "type:" in lines[i] and "from:" not in lines[i]]
    if not idx:
        return None
    i = rng.choice(idx)
    lines[i] = lines[i].replace("{", "{from: " + rng.choice(["nowhere", "conv9", "layer7", "inputs"]) + ", ", 1)
    return "\n".join(lines) + "\n"


_TOP_NAMED = re.compile(r"^  - \{name: ([\w.]+), (?=type:)", re.M)


def cycle(rng: random.Random, text: str) -> str | None:
    """The first named top-level layer takes its input from the last named one."""
    found = list(_TOP_NAMED.finditer(text))
    if len(found) < 2:
        return None
    first, last = found[0], found[-1]
    return text[: first.end()] + f"from: {last.group(1)}, " + text[first.end() :]


def merge_arity(rng: random.Random, text: str) -> str | None:
    lines = text.splitlines()
    idx = [i for i in _entries(lines) if "type:" in lines[i] and "from:" not in lines[i]]
    if not idx:
        return None
    i = rng.choice(idx)
    lines.insert(i + 1, re.sub(r"- \{.*", "- {type: " + rng.choice(["add", "mul"]) + "}", lines[i]))
    return "\n".join(lines) + "\n"


def random_bytes(rng: random.Random, text: str) -> bytes | None:
    data = bytearray(text.encode())
    pos = rng.randrange(len(data))
    junk = rng.choice([b"\xff\xfe", b"\x80", b"\xc3\x28", b"\x00", b"\xed\xa0\x80"])
    data[pos:pos] = junk
    return bytes(data)


def deep_nesting(rng: random.Random, text: str) -> str | None:
    depth = rng.choice([70, 200, 5000])
    return re.sub(r"^layers:\n", "layers:\n  - " + "[" * depth + "]" * depth + "\n", text, count=1, flags=re.M)


def python_tag(rng: random.Random, text: str) -> str | None:
    tag = rng.choice(["!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!custom 3"])
    return text.replace("input: [", f"input: {tag}\nx_input: [", 1)


def alias_bomb(rng: random.Random, text: str) -> str | None:
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for k in range(1, 9):
        prev = f"*a{k - 1}"
        lines.append(f"a{k}: &a{k} [{', '.join([prev] * 9)}]")
    return "meta:\n" + "\n".join("  " + x for x in lines) + "\n" + text


def non_mapping(rng: random.Random, text: str) -> str | None:
    return rng.choice(
        ["- just\n- a list\n", "42\n", "'a string'\n", "", "# only a comment\n", "layers: 3\ninput: [3]\n"]
    )


def bad_input_shape(rng: random.Random, text: str) -> str | None:
    return re.sub(
        r"^input: .*$",
        "input: " + rng.choice(["[3, 0, 32]", "[-1, 32]", "3x32x32", "[3, 32.5]", "[]", "[1, 2, 3, 4, 5]"]),
        text,
        count=1,
        flags=re.M,
    )


def duplicate_name(rng: random.Random, text: str) -> str | None:
    """Two top-level layers get the same name."""
    found = list(_TOP_NAMED.finditer(text))
    if len(found) < 2:
        return None
    a, b = rng.sample(found, 2)
    return text[: b.start(1)] + a.group(1) + text[b.end(1) :]


def _int_field(rng: random.Random, text: str, value: str) -> str | None:
    """``value`` in place of a layer's integer field (not a block argument's default, which an
    instance may override)."""
    m = _field_hits(text)
    if not m:
        return None
    hit = rng.choice(m)
    return text[: hit.start(2)] + value + text[hit.end(2) :]


def bad_shares(rng: random.Random, text: str) -> str | None:
    """`shares:` with itself, an input, nothing, a list, a number, or a layer of another shape."""
    found = list(_TOP_NAMED.finditer(text))
    if not found:
        return None
    hit = rng.choice(found)
    me = hit.group(1)
    other = rng.choice(found).group(1)
    target = rng.choice([me, "input", "nowhere", f"[{other}]", "3", "{a: 1}", "''"])
    if target == other:
        target = me
    return text[: hit.end()] + f"shares: {target}, " + text[hit.end() :]


def mismatched_shares(rng: random.Random, text: str) -> str | None:
    """A new conv that shares the parameters of a layer of another type or shape."""
    found = [m for m in _TOP_NAMED.finditer(text)]
    if not found:
        return None
    target = rng.choice(found).group(1)
    k = rng.choice([1, 7])
    return text.rstrip("\n") + (
        f"\n  - {{name: tied_x, type: conv2d, out_channels: 3, kernel_size: {k}, from: input, shares: {target}}}\n"
    )


def huge_integer(rng: random.Random, text: str) -> str | None:
    """An integer past Python's 4,300-digit conversion limit, or merely absurd."""
    return _int_field(rng, text, rng.choice(["9" * 5000, "1" + "0" * 30, "-" + "9" * 4400, "0x" + "f" * 5000]))


def unbounded_expression(rng: random.Random, text: str) -> str | None:
    """`${...}` that would hang or eat the memory if it ran unbounded."""
    expr = rng.choice(
        [
            "round(10 ** 15, -10 ** 15)",
            "round(10 ** 15, -100000)",
            "'%999999999d' % 1",
            "'%.999999999f' % 1.5",
            "'%s' % 3",
            "int(1e300)",
            "int('9' * 4000)",
            "int('9' * 20)",
            "[[1] * 10000] * 10000",
            "[1] * 10000 + [1] * 10000",
            "'x' * 10000 + 'y'",
            "2 ** 64 ** 64",
            "9 ** 63",
            "1e308 * 10",
            "-" * 1500 + "1",
            "(" * 300 + "1" + ")" * 300,
            "9" * 5000,
            "[" * 60 + "1" + "]" * 60,
            "abs([1])",
            "-[1]",
        ]
    )
    return _int_field(rng, text, f'"${{{expr}}}"')


def huge_text_expression(rng: random.Random, text: str) -> str | None:
    """A templated name whose text would be enormous."""
    found = list(_TOP_NAMED.finditer(text))
    if not found:
        return None
    hit = rng.choice(found)
    expr = rng.choice(["[[0] * 99] * 99", "'n' * 10000", "[[[1] * 21] * 21] * 21"])
    return text[: hit.start(1)] + f'"x${{{expr}}}"' + text[hit.end(1) :]


def huge_repeat(rng: random.Random, text: str) -> str | None:
    """A repeat count the arithmetic refuses before expanding anything."""
    lines = text.splitlines()
    idx = [i for i in _entries(lines) if "repeat:" not in lines[i] and "when:" not in lines[i]]
    if not idx:
        return None
    i = rng.choice(idx)
    n = rng.choice(["2000000", "1000001", "10000000000", '"${10 ** 7}"', "99999999999999"])
    lines[i] = lines[i].replace("{", "{" + f"repeat: {n}, ", 1)
    return "\n".join(lines) + "\n"


def exponential_blocks(rng: random.Random, text: str) -> str | None:
    """Blocks that each instantiate the previous one twice (or more): 2^30 layers."""
    depth, fan = rng.choice([(30, 2), (21, 2), (12, 4), (7, 10), (20, 3)])
    defs = ["blocks:", "  x0: [relu, identity]"]
    if rng.random() < 0.5:  # literal: refused from the static count
        defs += [f"  x{k}: [{', '.join([f'x{k - 1}'] * fan)}]" for k in range(1, depth + 1)]
    else:  # through arguments and `repeat: ${n}`: refused from the evaluated count
        defs[1] = "  x0: {args: [n], layers: [relu, identity]}"
        defs += [
            f'  x{k}: {{args: [n], layers: [{{block: x{k - 1}, n: "${{n}}", repeat: "${{n}}"}}]}}'
            for k in range(1, depth + 1)
        ]
        return _with_blocks(text, defs, f"  - {{block: x{depth}, n: {fan}}}")
    if "blocks:" in text:
        text = text.replace("blocks:\n", "\n".join(defs) + "\n", 1)
    else:
        text = re.sub(r"^layers:\n", "\n".join(defs) + "\nlayers:\n", text, count=1, flags=re.M)
    return re.sub(r"^layers:\n", f"layers:\n  - x{depth}\n", text, count=1, flags=re.M)


def _with_blocks(text: str, defs: list[str], entry: str) -> str:
    if "blocks:" in text:
        text = text.replace("blocks:\n", "\n".join(defs) + "\n", 1)
    else:
        text = re.sub(r"^layers:\n", "\n".join(defs) + "\nlayers:\n", text, count=1, flags=re.M)
    return re.sub(r"^layers:\n", f"layers:\n{entry}\n", text, count=1, flags=re.M)


def non_finite(rng: random.Random, text: str) -> str | None:
    """A number that is not finite, in a field or in the spec's budget."""
    value = rng.choice([".inf", "-.inf", ".nan", "1.0e+999", "-1.0e+400"])
    if rng.random() < 0.5:
        return _int_field(rng, text, value)
    return text.rstrip("\n") + f"\nbudget:\n  max_params: {value}\n"


def huge_quote(rng: random.Random, text: str) -> str | None:
    """An unknown key, type or name 100 KB long: the diagnostic quotes at most a little of it."""
    word = rng.choice(["k", "conv", "ä"]) * rng.choice([20_000, 100_000])
    lines = text.splitlines()
    idx = [i for i in _entries(lines) if "type:" in lines[i]]
    if not idx:
        return None
    i = rng.choice(idx)
    how = rng.choice(["key", "type", "from"])
    if how == "key":
        lines[i] = lines[i].replace("{", "{" + f"{word}: 3, ", 1)
    elif how == "type":
        lines[i] = re.sub(r"type: \w+", f"type: {word}", lines[i], count=1)
    else:
        lines[i] = lines[i].replace("{", "{" + f"from: {word}, ", 1)
    return "\n".join(lines) + "\n"


def generated_name_clash(rng: random.Random, text: str) -> str | None:
    """A top-level layer named like one a block instance generates."""
    m = re.search(r"^  - \{name: (\w+), block: \w+, repeat: (\d+)", text, re.M)
    if not m:
        return None
    layers = re.findall(r"^      - \{name: (\w+), type:", text, re.M)
    if not layers:
        return None
    clash = f"{m.group(1)}.{rng.randrange(int(m.group(2)))}.{rng.choice(layers)}"
    return text.rstrip("\n") + f"\n  - {{name: {clash}, type: relu}}\n"


def dangling_output(rng: random.Random, text: str) -> str | None:
    name = rng.choice(["nowhere", "layer9", "fc_", "input.0"])
    if re.search(r"^output:", text, re.M):
        return re.sub(r"^output: .*$", f"output: {name}", text, count=1, flags=re.M)
    return text.rstrip("\n") + f"\noutput: {name}\n"


MUTATIONS: list[Mutation] = [
    truncate_in_flow,
    unknown_type,
    swapped_type,
    unknown_key,
    bad_int,
    dangling_from,
    cycle,
    merge_arity,
    random_bytes,
    deep_nesting,
    python_tag,
    alias_bomb,
    non_mapping,
    bad_input_shape,
    duplicate_name,
    bad_shares,
    mismatched_shares,
    huge_integer,
    unbounded_expression,
    huge_text_expression,
    huge_repeat,
    exponential_blocks,
    non_finite,
    huge_quote,
    generated_name_clash,
    dangling_output,
]


def generate(seed: int = SEED, count: int = COUNT) -> list[tuple[str, str, bytes]]:
    """``count`` broken specs as (id, mutation name, bytes), deterministically from ``seed``."""
    rng = random.Random(seed)
    seeds = sorted(SPECS.glob("*.yaml"))
    out: list[tuple[str, str, bytes]] = []
    tries = 0
    while len(out) < count and tries < count * 20:
        tries += 1
        spec = rng.choice(seeds)
        mut = MUTATIONS[len(out) % len(MUTATIONS)] if tries <= count else rng.choice(MUTATIONS)
        result = mut(rng, spec.read_text(encoding="utf-8"))
        if result is None:
            continue
        data = result if isinstance(result, bytes) else result.encode()
        out.append((f"{len(out):03d}-{mut.__name__}-{spec.stem}", mut.__name__, data))
    return out


CASES = generate()


def test_the_generator_makes_enough_distinct_cases() -> None:
    assert len(CASES) >= 400
    assert len({data for _, _, data in CASES}) >= 380
    assert {m for _, m, _ in CASES} == {m.__name__ for m in MUTATIONS}


@contextmanager
def hang_guard(seconds: float = HANG_S) -> Iterator[None]:
    """Fail a case that runs past ``seconds``: a hang, not a slow machine."""

    def fire(signum: int, frame: object) -> None:
        raise TimeoutError(f"the case ran for more than {seconds} s: a hang")

    if not hasattr(signal, "setitimer"):  # pragma: no cover - not POSIX
        yield
        return
    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def assert_one_located_diagnostic(code: int, out: str, err: str, path: Path | None) -> None:
    assert code == 2, f"exit {code}\nstdout: {out[:300]}\nstderr: {err[:2000]}"
    assert out == ""
    assert "Traceback" not in err
    assert len(out.encode()) + len(err.encode()) <= MAX_OUTPUT, f"{len(err)} characters of diagnostics"
    lines = err.splitlines()
    assert len([x for x in lines if x.startswith("error[")]) == 1, err
    assert re.match(r"^error\[[a-z0-9-]+\]: \S", lines[0]), err
    if path is not None:
        assert any(re.match(rf"^  --> {re.escape(str(path))}(:\d+(:\d+)?)?$", x) for x in lines), err


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_mutated_spec_gives_one_located_diagnostic(
    case: tuple[str, str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ident, _mutation, data = case
    path = tmp_path / f"{ident}.yaml"
    path.write_bytes(data)
    before = tree(tmp_path)
    with hang_guard():
        code = main(["summary", str(path), "-f", "json"])
    out, err = capsys.readouterr()
    assert_one_located_diagnostic(code, out, err, path)
    assert tree(tmp_path) == before


# -- the command line, the config and module sources ------------------------------------------
#
# Each case: (id, files to write in a fresh working folder, argv, the file the diagnostic must
# point at or None for a command-line value). Run in-process in that folder; the folder must be
# unchanged afterwards (no file written by git, no __pycache__ from importing a module source).

_EXIT_AT_IMPORT = "import sys\nsys.exit(0)\n"
_MODULES = """import sys
import warnings

import torch
from torch import nn


class Net(nn.Module):
    input_shape = (3, 8, 8)

    def __init__(self, width=4):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)

    def forward(self, x):
        return self.conv(x)


class ExitsInForward(Net):
    def forward(self, x):
        sys.exit(0)


class InterruptsInForward(Net):
    def forward(self, x):
        raise KeyboardInterrupt


def exits():
    sys.exit(0)


def interrupts():
    raise KeyboardInterrupt


def type_error_inside(width=4):
    return len(width)


def lazy():
    return nn.Sequential(nn.LazyConv2d(8, 3), nn.ReLU())


def scripted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.script(nn.Sequential(nn.Conv2d(3, 4, 3)))


def traced():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(nn.Sequential(nn.Conv2d(3, 4, 3)), torch.zeros(1, 3, 8, 8))


class OddKeys(nn.Module):
    input_shape = (3, 8, 8)

    def __init__(self):
        super().__init__()
        self.body = nn.ModuleDict({"a b": nn.Conv2d(3, 4, 3), "c,d": nn.ReLU()})

    def forward(self, x):
        return self.body["c,d"](self.body["a b"](x))
"""
_GIT = ("git",)  # a case whose folder is a git repository with net.yaml committed
_NET = "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3}\n"
_LONG = "a" * 5000


def _cli_cases() -> list[tuple[str, dict[str, str], list[str], str | None]]:
    cases: list[tuple[str, dict[str, str], list[str], str | None]] = []

    def add(ident: str, argv: list[str], files: dict[str, str] | None = None, loc: str | None = None) -> None:
        cases.append((ident, files or {}, argv, loc))

    for k, text in enumerate(["3,,224", "1,x", "9" * 5000, "3,0", ",", "1,2,3,4,5", "3x", "３,32,32", "3,-1", "x"]):
        add(f"input-{k}", ["summary", "lenet5", "--input", text])
    for k, text in enumerate(["50%", "1e999", "1e999999", "1e9999999", "nan", "inf", "-1", "1e31", "12Q", "9" * 5000]):
        add(f"budget-{k}", ["check", "lenet5", "--no-config", "--max-params", text])
    for k, text in enumerate(["max_macs=50%", "max_activation_bytes=1e999", "max_params=10%", "=3", "max_flops"]):
        add(f"budget-flag-{k}", ["check", "lenet5", "--no-config", "--budget", text])
    for k, text in enumerate(["nan", "inf", "-1", "1e999"]):
        add(f"min-time-{k}", ["check", "lenet5", "--no-config", "--max-latency-ms", "9", "--min-time", text])
    for k, arg in enumerate(["--peak-tflops=nan", "--peak-tflops=inf", "--min-time=-inf", "--warmup=NaN"]):
        add(f"non-finite-option-{k}", ["profile", "lenet5", arg])
    for k, rev in enumerate(["--output=x", "-p", "--textconv", "--output=../x"]):
        add(f"git-option-{k}", ["diff", "net.yaml", f"--against={rev}"], {"net.yaml": _NET, **dict.fromkeys(_GIT, "")})
    configs = [
        "[tool]\ncnnscope = 3\n",
        'tool = "cnnscope"\n',  # it names cnnscope, so it is read (a file that never does is passed over)
        "[tool.cnnscope]\nbudget = 3\n",
        "[tool.cnnscope]\nmeasure = 3\n",
        "[tool.cnnscope]\nmodels = 3\n",
        "[tool.cnnscope]\nmodel = 3\n",
        '[tool.cnnscope.models]\n"lenet5" = 3\n',
        "[tool.cnnscope\n",
        "[tool.cnnscope.budget]\nmax_params = inf\n",
        "[tool.cnnscope.budget]\nmax_params = 1e999\n",
        '[tool.cnnscope.budget]\nmax_macs = "50%"\n',
        "[tool.cnnscope.measure]\nmin_time = nan\n",
        '[tool.cnnscope.models."lenet5"]\ninput = [3, 0]\n',
        '[tool.cnnscope.models."lenet5"]\nbatch = true\n',
    ]
    for k, text in enumerate(configs):
        add(
            f"config-{k}",
            ["check", "lenet5", "--max-params", "1M"],
            {"pyproject.toml": text, ".git": ""},
            "pyproject.toml",
        )
    add(
        "config-own-int",
        ["check", "lenet5", "--max-params", "1M"],
        {"cnnscope.toml": "[tool]\ncnnscope = 3\n"},
        "cnnscope.toml",
    )
    for k, src in enumerate([_LONG, _LONG + ".yaml", _LONG + ".py:Net", "x/" * 3000 + "net.yaml", "builtin:" + _LONG]):
        add(f"long-name-{k}", ["summary", src])
    add("sys-exit", ["check", "sys:exit", "--max-params", "1"])
    add("exit-at-import", ["check", "mod.py:Net", "--max-params", "1"], {"mod.py": _EXIT_AT_IMPORT}, "mod.py")
    add("builtin-unknown", ["summary", "builtin:resnet19"])
    add("spec-huge-quote", ["check", "lenet5", "--no-config", "--budget", "max_" + "x" * 100_000 + "=3"])
    module_cases = [
        ("exits-in-factory", "m.py:exits", None),
        ("exits-in-forward", "m.py:ExitsInForward", None),
        ("interrupts-in-factory", "m.py:interrupts", "m.py"),
        ("interrupts-in-forward", "m.py:InterruptsInForward", None),
        ("type-error-inside-factory", "m.py:type_error_inside", "m.py"),
        ("lazy", "m.py:lazy", None),
        ("scripted", "m.py:scripted", None),
        ("traced", "m.py:traced", None),
        ("syntax-error", "bad.py:Net", "bad.py"),
    ]
    files = {"m.py": _MODULES, "bad.py": "def f(:\n    pass\n"}
    for ident, src, loc in module_cases:
        add(f"module-{ident}", ["check", src, "--no-config", "--max-params", "1", "--input", "3,8,8"], files, loc)
    add("module-bad-kwargs", ["summary", "m.py:Net", "--kwargs", '{"widht": 3}'], files)
    for k, kw in enumerate(['{"width": ' + "9" * 5000 + "}", "[" * 50_000 + "]" * 50_000, "[1, 2]", "{", "3"]):
        add(f"module-kwargs-{k}", ["summary", "m.py:Net", "--kwargs", kw], files)
    add("module-export-odd-keys", ["export", "m.py:OddKeys"], files)
    return cases


CLI_CASES = _cli_cases()


def _git_init(folder: Path) -> None:
    import subprocess

    (folder / ".git").unlink()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    for cmd in (["git", "init", "-q"], ["git", "add", "net.yaml"], ["git", "commit", "-qm", "x"]):
        subprocess.run(cmd, cwd=folder, check=True, env=env, capture_output=True)


def test_the_command_line_corpus_covers_every_class() -> None:
    assert len(CASES) + len(CLI_CASES) >= 480
    prefixes = {c[0].rsplit("-", 1)[0] if c[0][-1].isdigit() else c[0] for c in CLI_CASES}
    for needed in ("input", "budget", "min-time", "git-option", "config", "long-name", "sys-exit", "exit-at-import"):
        assert needed in prefixes, needed


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_bad_command_line_gives_one_diagnostic(
    case: tuple[str, dict[str, str], list[str], str | None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ident, files, argv, loc = case
    if any(a.startswith(("m.py", "bad.py", "mod.py")) or a == "sys:exit" for a in argv):
        pytest.importorskip("torch")
    for name, text in files.items():
        if name == ".git":
            (tmp_path / ".git").write_text("")  # stops the config search here
        else:
            (tmp_path / name).write_text(text, encoding="utf-8")
    if "git" in files:
        (tmp_path / "git").unlink()
        if shutil.which("git") is None:
            pytest.skip("git is not installed")
        (tmp_path / ".git").write_text("")
        _git_init(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    with hang_guard():
        code = main(argv)
    out, err = capsys.readouterr()
    where = None
    if loc is not None:
        where = tmp_path / loc if (tmp_path / loc).exists() and loc != "pyproject.toml" else Path(loc)
        if not any(line.startswith("  --> ") and loc.rsplit("/", 1)[-1] in line for line in err.splitlines()):
            raise AssertionError(f"no location in {loc}:\n{err}")
        where = None  # the located line was checked by name; the path may be absolute or relative
    assert_one_located_diagnostic(code, out, err, where)
    assert tree(tmp_path) == before, f"{ident} changed the working folder"
