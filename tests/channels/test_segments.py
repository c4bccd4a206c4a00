"""SMS segment counting at the GSM-7 and UCS-2 boundaries, plus monotonicity properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ureport.channels.segments import GSM7_BASIC, GSM7_EXTENSION, Segments, is_gsm7, sms_segments

EMOJI = "\N{GRINNING FACE}"

BOUNDARIES = [
    ("empty", "", Segments("GSM-7", 0, 1)),
    ("160 GSM", "a" * 160, Segments("GSM-7", 160, 1)),
    ("161 GSM", "a" * 161, Segments("GSM-7", 161, 2)),
    ("306 GSM", "a" * 306, Segments("GSM-7", 306, 2)),
    ("307 GSM", "a" * 307, Segments("GSM-7", 307, 3)),
    ("80 euro", "€" * 80, Segments("GSM-7", 160, 1)),
    ("81 euro", "€" * 81, Segments("GSM-7", 162, 2)),
    ("escape pair moves whole", "a" * 152 + "€" + "a" * 152, Segments("GSM-7", 306, 3)),
    ("70 UCS-2", "ê" * 70, Segments("UCS-2", 70, 1)),
    ("71 UCS-2", "ê" * 71, Segments("UCS-2", 71, 2)),
    ("134 UCS-2", "ê" * 134, Segments("UCS-2", 134, 2)),
    ("135 UCS-2", "ê" * 135, Segments("UCS-2", 135, 3)),
    ("35 emoji", EMOJI * 35, Segments("UCS-2", 70, 1)),
    ("36 emoji", EMOJI * 36, Segments("UCS-2", 72, 2)),
    ("surrogate pair moves whole", "ê" * 66 + EMOJI + "ê" * 66, Segments("UCS-2", 134, 3)),
    ("one accent forces UCS-2", "a" * 69 + "ê", Segments("UCS-2", 70, 1)),
    ("backtick is not GSM", "`", Segments("UCS-2", 1, 1)),
    ("ESC alone is not GSM", "\x1b", Segments("UCS-2", 1, 1)),
    ("GSM greek and newline", "ΔΦΓ\n\r", Segments("GSM-7", 5, 1)),
]


@pytest.mark.parametrize(("label", "text", "expected"), BOUNDARIES, ids=[c[0] for c in BOUNDARIES])
def test_boundaries(label: str, text: str, expected: Segments) -> None:
    assert sms_segments(text) == expected


def test_alphabet_sizes() -> None:
    # 128 positions in the basic table, one of which (ESC) is not a character.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_escape_pair_split_rule() -> None:
    # 153 units fit one part exactly; the pair that would straddle the boundary moves.
    assert sms_segments("a" * 151 + "€" + "a" * 153).parts == 2
    assert sms_segments("a" * 152 + "€" + "a" * 152).parts == 3
    assert sms_segments("€" * 76 + "a" * 152).parts == 2


GSM_CHARS = st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION))
GSM_TEXT = st.text(alphabet=GSM_CHARS, max_size=400)
UCS_TEXT = st.text(min_size=1, max_size=300).filter(lambda text: not all(map(is_gsm7, text)))


@given(GSM_TEXT, GSM_CHARS)
def test_gsm_parts_monotone(text: str, char: str) -> None:
    before, after = sms_segments(text), sms_segments(text + char)
    assert before.encoding == after.encoding == "GSM-7"
    assert 1 <= before.parts <= after.parts
    assert after.units == before.units + (2 if char in GSM7_EXTENSION else 1)


@given(UCS_TEXT, st.characters())
def test_ucs2_parts_monotone(text: str, char: str) -> None:
    before, after = sms_segments(text), sms_segments(text + char)
    assert before.encoding == after.encoding == "UCS-2"
    assert 1 <= before.parts <= after.parts
    assert before.units == len(text.encode("utf-16-le")) // 2
