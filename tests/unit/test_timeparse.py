from __future__ import annotations

import pytest

from heron.timeparse import parse_time


def test_forms() -> None:
    assert parse_time("10m", now=1000.0) == 400.0
    assert parse_time("2h", now=10_000.0) == 2_800.0
    assert parse_time("1d", now=100_000.0) == 13_600.0
    assert parse_time("1700000000.5") == 1_700_000_000.5
    assert parse_time("2026-11-23T10:00:00Z") == parse_time("2026-11-23T11:00:00+01:00")
    assert parse_time("2026-11-23T10:00:00") == parse_time("2026-11-23T10:00:00+00:00")


@pytest.mark.parametrize("text", ["yesterday", "10 parsecs", ""])
def test_bad_times(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time"):
        parse_time(text)
