"""Fixtures for the JavaScript tests: every engine-dependent test runs on quickjs and v8."""

from __future__ import annotations

import pytest

ENGINES = ("quickjs", "v8")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name
