"""The simulator's own segment count: what it reports as ``num_segments``."""

from __future__ import annotations

import pytest

from desktop.simulator.encoding import count_segments, is_gsm7


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("{" * 80, 1),  # extension characters cost two septets
        ("{" * 81, 2),
        ("é" * 160, 1),  # é is in the GSM-7 basic set
        ("ж" * 70, 1),  # one non-GSM character makes the message UCS-2
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
        ("😀" * 35, 1),  # an emoji is two UTF-16 units
        ("😀" * 36, 2),
        ("a" * 159 + "😀", 3),
    ],
)
def test_segments_follow_gsm7_and_ucs2_limits(body: str, segments: int) -> None:
    assert count_segments(body) == segments


def test_gsm7_detection() -> None:
    assert is_gsm7("Hello @ £5 {ok}")
    assert not is_gsm7("Hello ’quoted’")
