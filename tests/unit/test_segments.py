"""The composer's length counter: what a message will cost before staff press Send."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.domain.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    analyze,
    non_gsm_positions,
)

EMOJI = "😀"  # outside the BMP: a surrogate pair in UTF-16
CYRILLIC = "ж"  # inside the BMP, not in GSM-7

gsm_text = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=700)
any_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)),
        st.sampled_from([EMOJI, CYRILLIC, "’", "é", "🇺", "\t", "中"]),
        st.characters(),
    ),
    max_size=400,
)


# --- the alphabet ------------------------------------------------------------------


def test_alphabet_tables_match_gsm_03_38() -> None:
    # 128 code points minus the escape; ten extension characters.
    assert len(GSM7_BASIC) == 127
    assert frozenset("\f^{}\\[~]|€") == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize("text", ["Hello!", "Café à 5€?", "Ça va", "Grüße", "ΔΦΓΛΩ", "@£$¥§¿¡"])
def test_everyday_latin_text_stays_gsm7(text: str) -> None:
    assert analyze(text).encoding is Encoding.GSM7


@pytest.mark.parametrize("text", ["Ça coûte", "ça", "naïve", "Ōsaka", "Zürich – Bern"])
def test_accents_outside_gsm7_force_ucs2(text: str) -> None:
    # GSM-7 has only a handful of accented letters; a lowercase ç is not one of them.
    assert analyze(text).encoding is Encoding.UCS2


# --- GSM-7 boundaries ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_segment_boundaries(length: int, segments: int) -> None:
    info = analyze("a" * length)
    assert info.encoding is Encoding.GSM7
    assert info.segments == segments
    assert info.units_used == length


def test_single_gsm7_segment_holds_160_and_split_ones_153() -> None:
    assert analyze("a" * 160).units_per_segment == 160
    assert analyze("a" * 161).units_per_segment == 153
    assert analyze("a" * 161).capacity == 306


def test_euro_and_other_extension_characters_count_two() -> None:
    for ch in "€[]{}~^|\\\f":
        info = analyze(ch)
        assert info.encoding is Encoding.GSM7, ch
        assert info.units_used == 2, ch
        assert info.chars == 1


def test_extension_characters_push_a_message_over_one_segment() -> None:
    assert analyze("a" * 158 + "€").segments == 1  # 160 septets
    assert analyze("a" * 159 + "€").segments == 2  # 161 septets


def test_escape_pair_never_straddles_a_segment_boundary() -> None:
    # 306 septets would fit two 153-septet segments, but "€" would have to start at the
    # 153rd septet of the first segment, so it moves whole to the second one.
    text = "a" * 152 + "€" + "a" * 152
    info = analyze(text)
    assert info.units_used == 306
    assert info.segments == 3
    assert info.remaining == 152  # one septet sits in the third segment


def test_escape_pair_that_fits_exactly_does_not_add_a_segment() -> None:
    text = "a" * 151 + "€" + "a" * 153  # 153 + 153 septets
    assert analyze(text).segments == 2


# --- UCS-2 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_segment_boundaries(length: int, segments: int) -> None:
    info = analyze(CYRILLIC * length)
    assert info.encoding is Encoding.UCS2
    assert info.segments == segments
    assert info.units_used == length


def test_one_emoji_turns_the_whole_message_into_ucs2() -> None:
    plain = "See you at 5pm " * 6  # 90 GSM characters: one segment
    assert analyze(plain).segments == 1
    info = analyze(plain + EMOJI)
    assert info.encoding is Encoding.UCS2
    assert info.units_used == 92  # the emoji is a surrogate pair
    assert info.segments == 2
    assert info.non_gsm_chars == (EMOJI,)


def test_smart_quote_forces_ucs2() -> None:
    # Phones and word processors turn ' into ’; the customer pays for it.
    straight = analyze("Don't forget your appointment tomorrow at 10am. " * 2)
    curly = analyze("Don’t forget your appointment tomorrow at 10am. " * 2)
    assert straight.encoding is Encoding.GSM7
    assert straight.segments == 1
    assert curly.encoding is Encoding.UCS2
    assert curly.segments == 2
    assert curly.non_gsm_chars == ("’",)


def test_emoji_counts_two_code_units_toward_the_limit() -> None:
    assert analyze(EMOJI * 35).segments == 1  # 70 units
    assert analyze(EMOJI * 35 + "a").segments == 2


def test_surrogate_pair_never_straddles_a_segment_boundary() -> None:
    text = CYRILLIC * 66 + EMOJI + CYRILLIC * 66  # 134 units, yet 3 segments
    info = analyze(text)
    assert info.units_used == 134
    assert info.segments == 3
    assert info.remaining == 66


def test_non_gsm_chars_are_distinct_and_in_order_of_appearance() -> None:
    info = analyze("Hi “Ana” — ok? “yes”")
    assert info.non_gsm_chars == ("“", "”", "—")


def test_tab_is_not_gsm7() -> None:
    assert analyze("a\tb").encoding is Encoding.UCS2


# --- what the counter shows -----------------------------------------------------------


def test_empty_text_costs_nothing() -> None:
    info = analyze("")
    assert info.segments == 0
    assert info.units_used == 0
    assert info.encoding is Encoding.GSM7
    assert info.remaining == 160
    assert info.label() == "0 segments · GSM-7 · 0/160"


def test_label_singular_and_plural() -> None:
    assert analyze("Hello").label() == "1 segment · GSM-7 · 5/160"
    assert analyze("a" * 200).label() == "2 segments · GSM-7 · 200/306"
    assert analyze(CYRILLIC * 71).label() == "2 segments · UCS-2 · 71/134"


def test_remaining_counts_down_within_the_current_segments() -> None:
    assert analyze("a" * 150).remaining == 10
    assert analyze("a" * 160).remaining == 0
    assert analyze("a" * 161).remaining == 306 - 161
    assert analyze(CYRILLIC * 70).remaining == 0


def test_chars_is_what_the_user_typed_not_units() -> None:
    info = analyze("€" + EMOJI)
    assert info.chars == 2
    assert info.units_used == 3


def test_twilio_limit_of_1600_characters() -> None:
    assert not analyze("a" * 1600).too_long
    assert analyze("a" * 1601).too_long
    assert analyze("a" * 1600).segments == 11  # ceil(1600 / 153)
    assert not analyze(CYRILLIC * 1600).too_long
    assert analyze(CYRILLIC * 1600).segments == 24  # ceil(1600 / 67)


# --- highlighting ---------------------------------------------------------------------


def test_positions_of_characters_that_force_ucs2() -> None:
    assert non_gsm_positions("plain text") == []
    assert non_gsm_positions("It’s ok") == [(2, 1)]
    assert non_gsm_positions("“hi”") == [(0, 1), (3, 1)]


def test_adjacent_offenders_highlight_as_one_run() -> None:
    thumbs = "👍🏽"  # thumbs-up plus skin-tone modifier: two code points
    assert non_gsm_positions(f"ok {thumbs}!") == [(3, 2)]


def test_extension_characters_are_not_highlighted() -> None:
    assert non_gsm_positions("Price: 5€ [approx]") == []


def test_utf16_positions_account_for_earlier_emoji() -> None:
    text = f"{EMOJI} it’s"
    assert non_gsm_positions(text) == [(0, 1), (4, 1)]
    assert non_gsm_positions(text, utf16=True) == [(0, 2), (5, 1)]


# --- invariants -------------------------------------------------------------------------


@given(any_text, any_text)
def test_appending_never_lowers_the_segment_count(head: str, tail: str) -> None:
    assert analyze(head + tail).segments >= analyze(head).segments


@given(any_text)
def test_counter_is_self_consistent(text: str) -> None:
    info = analyze(text)
    assert info.chars == len(text)
    assert info.capacity == info.units_per_segment * max(info.segments, 1)
    assert info.capacity >= info.units_used
    assert 0 <= info.remaining <= info.units_per_segment
    assert (info.segments == 0) == (text == "")
    assert (info.encoding is Encoding.UCS2) == bool(info.non_gsm_chars)
    assert len(set(info.non_gsm_chars)) == len(info.non_gsm_chars)
    assert set(info.non_gsm_chars) == {
        text[start + i] for start, length in non_gsm_positions(text) for i in range(length)
    }


@given(any_text)
def test_ucs2_units_are_utf16_code_units(text: str) -> None:
    info = analyze(text)
    if info.encoding is Encoding.UCS2:
        assert info.units_used == len(text.encode("utf-16-le", "surrogatepass")) // 2


@given(gsm_text)
def test_gsm7_units_are_septets(text: str) -> None:
    info = analyze(text)
    assert info.encoding is Encoding.GSM7
    assert info.units_used == len(text) + sum(ch in GSM7_EXTENSION for ch in text)


@given(any_text)
def test_split_messages_waste_at_most_one_unit_per_segment(text: str) -> None:
    info = analyze(text)
    if info.segments > 1:
        per = info.units_per_segment
        assert info.segments >= math.ceil(info.units_used / per)
        assert info.segments <= math.ceil(info.units_used / (per - 1))
        # What is used plus what is left plus what was skipped fills the segments exactly.
        skipped = info.capacity - info.units_used - info.remaining
        assert 0 <= skipped <= info.segments - 1


@given(any_text)
def test_utf16_highlight_spans_cover_the_same_characters(text: str) -> None:
    encoded = text.encode("utf-16-le", "surrogatepass")
    for (start, length), (u_start, u_length) in zip(
        non_gsm_positions(text), non_gsm_positions(text, utf16=True), strict=True
    ):
        chunk = encoded[u_start * 2 : (u_start + u_length) * 2]
        assert chunk.decode("utf-16-le", "surrogatepass") == text[start : start + length]
