"""The on-disk cache (cnnscope.perf) is never trusted: missing, foreign, truncated, corrupt or
unreadable entries read as absent and are derived again; concurrent writers leave whole files;
and what is derived from it (the layer-family index, --help) is the same as without it."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from cnnscope import perf
from cnnscope.frontends.yaml import families
from cnnscope.frontends.yaml.loader import load_spec


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CNNSCOPE_CACHE_DIR", str(folder))
    monkeypatch.delenv("CNNSCOPE_NO_CACHE", raising=False)
    return folder


def test_an_entry_reads_back_only_under_its_own_key(cache: Path) -> None:
    perf.write_cache("e.json", "k1", {"a": [1, 2]})
    assert perf.read_cache("e.json", "k1") == {"a": [1, 2]}
    assert perf.read_cache("e.json", "k2") is None
    assert perf.read_cache("other.json", "k1") is None
    assert [p.name for p in cache.iterdir()] == ["e.json"]  # no temporary file left


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # half written
        lambda b: b[:-1],  # one byte short
        lambda b: b.replace(b"[1, 2]", b"[1, 3]").replace(b"[1,2]", b"[1,3]"),  # changed after it was written
        lambda b: b"",  # empty
        lambda b: b"\x00\xff" * 40,  # not even text
        lambda b: b.split(b"\n", 1)[0],  # the head alone
        lambda b: b"cnnscope-cache 9" + b[16:],  # another format
    ],
)
def test_a_damaged_entry_reads_as_absent_and_is_written_again(cache: Path, damage: object) -> None:
    perf.write_cache("e.json", "k", {"a": [1, 2]})
    path = cache / "e.json"
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    assert perf.read_cache("e.json", "k") is None
    perf.write_cache("e.json", "k", {"a": [1, 2]})
    assert perf.read_cache("e.json", "k") == {"a": [1, 2]}


def test_a_valid_digest_of_what_is_not_json_reads_as_absent(cache: Path) -> None:
    from cnnscope.perf import blake2b

    payload = b"{not json"
    digest = blake2b(payload, digest_size=20).hexdigest().encode()
    cache.mkdir()
    (cache / "e.json").write_bytes(b"cnnscope-cache 1 k " + digest + b"\n" + payload)
    assert perf.read_cache("e.json", "k") is None


def test_no_cache_and_an_unwritable_folder_cost_only_the_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("CNNSCOPE_CACHE_DIR", str(blocker / "cache"))  # under a file: cannot be made
    perf.write_cache("e.json", "k", 1)
    assert perf.read_cache("e.json", "k") is None
    monkeypatch.setenv("CNNSCOPE_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("CNNSCOPE_NO_CACHE", "1")
    perf.write_cache("e.json", "k", 1)
    assert not (tmp_path / "c").exists() and perf.cache_dir() is None


def _writer(folder: str, which: int, rounds: int) -> None:
    os.environ["CNNSCOPE_CACHE_DIR"] = folder
    value = {"writer": which, "data": [which] * 20_000}  # ~100 KB: several write() calls
    for _ in range(rounds):
        perf.write_cache("e.json", "k", value)


def _reader(folder: str, rounds: int, found: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    os.environ["CNNSCOPE_CACHE_DIR"] = folder
    seen = set()
    for _ in range(rounds):
        got = perf.read_cache("e.json", "k")
        if got is not None:
            assert got["data"] == [got["writer"]] * 20_000, "a reader saw a mixed or partial entry"
            seen.add(got["writer"])
    found.put(sorted(seen))


def test_concurrent_writers_and_readers_see_whole_entries(cache: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    found: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_writer, args=(str(cache), k, 30)) for k in range(4)]
    procs += [ctx.Process(target=_reader, args=(str(cache), 200, found)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    seen = [found.get(timeout=10) for _ in range(3)]
    assert all(set(s) <= {0, 1, 2, 3} for s in seen)
    final = perf.read_cache("e.json", "k")
    assert final is not None and final["data"] == [final["writer"]] * 20_000
    assert [p.name for p in cache.iterdir()] == ["e.json"]


def test_the_content_key_follows_every_byte_of_every_file(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    key = perf.content_key("p", files=[str(a), str(b)])
    assert key == perf.content_key("p", files=[str(a), str(b)])
    assert key != perf.content_key("q", files=[str(a), str(b)])
    b.write_text("y = 3\n")
    assert key != perf.content_key("p", files=[str(a), str(b)])


# -- the layer-family index --------------------------------------------------------------


def _fresh_index(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(families, "_INDEX", None)
    return families.index()


def test_the_family_index_is_the_registry_and_is_read_back(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnscope.layers import registry

    built = _fresh_index(monkeypatch)
    assert built == {name: cls.__module__ for name, cls in registry().items()}
    assert [p.name for p in cache.iterdir()] == ["layer-families.json"]

    def no_registry() -> None:
        raise AssertionError("the index was derived again, not read")

    monkeypatch.setattr(families, "registry", no_registry)
    assert _fresh_index(monkeypatch) == built


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign module", "not a list"])
def test_a_damaged_family_index_is_derived_again(cache: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    built = _fresh_index(monkeypatch)
    path = cache / "layer-families.json"
    key = path.read_bytes().split(b"\n", 1)[0].split(b" ")[2].decode()
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(os.urandom(300))
    elif damage == "foreign module":  # whole and well formed, but it would import `os`
        perf.write_cache("layer-families.json", key, [["conv2d", "os"]])
    else:
        perf.write_cache("layer-families.json", key, {"conv2d": "cnnscope.layers.conv"})
    assert _fresh_index(monkeypatch) == built
    assert perf.read_cache("layer-families.json", key) == [[t, m] for t, m in built.items()]  # written again


def test_a_wrong_index_costs_time_never_the_answer(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(families, "_INDEX", {"conv2d": "cnnscope.layers.activation", "relu": "cnnscope.layers.conv"})
    g = load_spec("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3}\n  - relu\n")
    assert [n.type for n in g.nodes] == ["conv2d", "relu"]
    monkeypatch.setattr(families, "_INDEX", {})  # knows no type: the registry imports them all
    g = load_spec("input: [3, 8, 8]\nblocks:\n  b: [relu]\nlayers:\n  - {type: maxpool2d, kernel_size: 2}\n  - b\n")
    assert [n.type for n in g.nodes] == ["maxpool2d", "relu"]


# -- --help ------------------------------------------------------------------------------


def _help(args: list[str]) -> tuple[int, str, str]:
    """``main(args)`` with text streams like a pipe's (an encoding, no terminal)."""
    from cnnscope.cli.main import main

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    out.flush()
    err.flush()
    return code, out.buffer.getvalue().decode(), err.buffer.getvalue().decode()  # type: ignore[attr-defined]


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["summary", "--help"], ["lint", "-h"], []])
def test_help_from_the_cache_is_typers_byte_for_byte(
    cache: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNNSCOPE_NO_CACHE", "1")
    uncached = _help(args)
    monkeypatch.delenv("CNNSCOPE_NO_CACHE")
    assert _help(args) == uncached  # recorded
    assert len(list(cache.glob("help-*.json"))) == 1
    assert _help(args) == uncached  # replayed
    for entry in cache.glob("help-*.json"):
        entry.write_bytes(entry.read_bytes()[:-10])  # damaged: recorded again
    assert _help(args) == uncached
    assert uncached[0] == 0 and "Usage" in uncached[1]


def test_help_is_keyed_by_the_terminal_and_the_environment(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _help(["--help"])
    monkeypatch.setenv("COLUMNS", "60")
    narrow = _help(["--help"])
    assert len(list(cache.glob("help-*.json"))) == 2
    assert max(len(line) for line in narrow[1].splitlines()) <= 60


def test_what_is_not_plain_help_is_never_cached(cache: Path) -> None:
    from cnnscope.cli import helpcache

    for args in (["summary", "lenet5", "--help"], ["--help", "summary"], ["--version"], ["nosuch", "--help"]):
        assert not helpcache.is_help(args)
    _help(["summary", "lenet5", "--help"])
    assert not list(cache.glob("help-*.json"))


def test_the_tee_hands_every_write_through(tmp_path: Path) -> None:
    from cnnscope.cli.helpcache import _Tee

    real = io.StringIO()
    tee = _Tee(real)
    tee.write("a")
    tee.writelines(["b", "c"])
    with pytest.raises(TypeError):
        tee.write(b"")  # click's probe: a text stream refuses bytes, and the copy stays good
    assert real.getvalue() == "abc" == "".join(tee.parts) and tee.ok
    assert tee.getvalue() == "abc"  # anything else is the stream's own
    json.dumps(tee.parts)
