"""`profile --find-max-batch` in every format, from one result made by hand: the tries come
back whole (csv through csv.writer, json as the result's own data), in the order they ran."""

from __future__ import annotations

import csv
import io
import json

import pytest

pytest.importorskip("torch")

from cnnscope.profile.maxbatch import MaxBatchResult
from cnnscope.profile.tries import Try
from cnnscope.render import emit
from cnnscope.render.formats import FORMATS
from cnnscope.render.views import maxbatch

LONG = "CUDA out of memory, " * 10  # 200 characters: cut in the table, whole in csv and json


def _result() -> MaxBatchResult:
    tries = [
        Try(8, "fits", 1_000_000, 900_000, 0.5),
        Try(16, "oom", None, 1_800_000, 0.7, LONG),
        Try(12, "error", None, 1_350_000, 0.1, 'a "quoted", comma, error'),
    ]
    return MaxBatchResult(
        "net",
        "cpu",
        "float32",
        True,
        "adam",
        1_500_000,
        "--memory-limit",
        13,
        8,
        12,
        tries,
        "process peak RSS growth",
        ["a note"],
    )


def _emit(fmt: str) -> str:
    out = io.StringIO()
    emit(maxbatch.document(_result()), fmt, out=out, err=io.StringIO())
    return out.getvalue()


def test_csv_is_every_try_whole() -> None:
    rows = list(csv.DictReader(io.StringIO(_emit("csv"))))
    assert [r["batch"] for r in rows] == ["8", "16", "12"]
    assert rows[1]["error"] == LONG and rows[2]["error"] == 'a "quoted", comma, error'
    assert rows[0]["peak_bytes"] == "1000000" and rows[1]["peak_bytes"] == ""


def test_json_is_the_result() -> None:
    data = json.loads(_emit("json"))
    assert data["schema_version"] == 2
    assert {k: v for k, v in data.items() if k != "schema_version"} == json.loads(json.dumps(_result().to_json()))
    assert data["ratio"] == pytest.approx(8 / 13)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_writes_it(fmt: str) -> None:
    _emit(fmt)  # github writes annotations only, and this result has no diagnostic


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_people_read_the_verdict_and_the_tries(fmt: str) -> None:
    text = _emit(fmt)
    assert "predicted 13, measured 8" in text and "a note" in text
    assert LONG not in text and LONG[:40] in text  # the long error cut, not dropped
