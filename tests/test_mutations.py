"""Bad input, generated: mutate valid specs in ways that must break them, and check that
every broken spec gives exactly one located diagnostic and exit code 2 — never a traceback.

The generator is seeded (fixed in CI); ``CNNSCOPE_MUTATION_SEED`` and
``CNNSCOPE_MUTATIONS`` (count) widen the campaign locally.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from cnnscope.cli.main import main

SPECS = Path(__file__).resolve().parents[1] / "specs"
SEED = int(os.environ.get("CNNSCOPE_MUTATION_SEED", "20261123"))
COUNT = int(os.environ.get("CNNSCOPE_MUTATIONS", "240"))

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


def bad_int(rng: random.Random, text: str) -> str | None:
    m = list(_INT_FIELD.finditer(text))
    if not m:
        return None
    hit = rng.choice(m)
    field = hit.group(1)
    if field == "kernel_size":
        value = rng.choice(["-3", "0", "10000000000", "3.5", "'three'", "[]", "null", "true"])
    else:
        value = rng.choice(["-1", "0", "1.5", "'x'", "[1, 2, 3, 4]", "null", "{a: 1}", "false"])
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
    assert len(CASES) >= 200
    assert len({data for _, _, data in CASES}) >= 190
    assert {m for _, m, _ in CASES} == {m.__name__ for m in MUTATIONS}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_mutated_spec_gives_one_located_diagnostic(
    case: tuple[str, str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ident, _mutation, data = case
    path = tmp_path / f"{ident}.yaml"
    path.write_bytes(data)
    code = main(["summary", str(path), "-f", "json"])
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}\nstdout: {out[:300]}\nstderr: {err}"
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len([x for x in lines if x.startswith("error[")]) == 1, err
    assert re.match(r"^error\[[a-z0-9-]+\]: \S", lines[0]), err
    assert any(re.match(rf"^  --> {re.escape(str(path))}(:\d+(:\d+)?)?$", x) for x in lines), err
