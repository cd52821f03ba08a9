"""The reference data beside the checkout (../shared/reference) must be there in CI.

Tests that compare against torchvision's published figures or measured receptive fields
take the `shared` fixture, which skips where ../shared is missing (a bare checkout on a
laptop). In CI (the `CI` variable set) that would hide them all behind one skip line, so this
test fails loudly instead.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import SHARED

NEEDED = ("reference/torchvision_models.json", "reference/receptive_fields.json")


def test_reference_data_is_present_in_ci() -> None:
    missing = [p for p in NEEDED if not (SHARED / p).is_file()]
    if not missing:
        return
    if os.environ.get("CI"):
        pytest.fail(
            f"CI runs without {SHARED}: {', '.join(missing)} missing, so every test that takes the "
            "`shared` fixture would be skipped; check out the shared data beside the repository"
        )
    pytest.skip(f"{SHARED} is not beside the checkout (CI fails here instead)")
