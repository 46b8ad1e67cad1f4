"""Schedule parsing (strict, fuzzed), lookup, snapping and the raised-cosine blend."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.schedule import (
    ScheduleError,
    entry_at,
    format_timestamp,
    parse_index,
    parse_schedule,
    parse_timestamp,
    ramp,
    select_iteration,
    select_iterations,
    snap_entries,
    snap_time,
)

STRIDE = 17.92


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0), ("75", 75.0), ("83.5", 83.5), ("1:15", 75.0), ("1:02.5", 62.5),
        ("0:05", 5.0), ("1:00:05", 3605.0), ("2:03:04.25", 7384.25), ("10:00", 600.0),
    ],
)
def test_timestamps(text, seconds):
    assert parse_timestamp(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1:75", "1:60:00", "1:2:3:4", "-5", "1.5:00", "abc", "", "1::2"])
def test_bad_timestamps(text):
    with pytest.raises(ScheduleError):
        parse_timestamp(text)


@given(st.floats(min_value=0, max_value=20 * 3600, allow_nan=False))
def test_format_then_parse_round_trips_to_the_centisecond(seconds):
    assert parse_timestamp(format_timestamp(seconds)) == pytest.approx(seconds, abs=0.0051)


def test_every_supported_line_form():
    text = """
    # comment line
    0:00-0:30: verse prompt
    - 0:30 \u2013 1:15: chorus: with a colon inside
    * 1:15\u20141:40: bridge
    \u2022 1:40+: outro
    1:00:00: late entry

    """
    entries = parse_schedule(text)
    assert [(e.start, e.end, e.value) for e in entries] == [
        (0.0, 30.0, "verse prompt"),
        (30.0, 75.0, "chorus: with a colon inside"),
        (75.0, 100.0, "bridge"),
        (100.0, None, "outro"),
        (3600.0, None, "late entry"),
    ]
    assert [e.line for e in entries] == [3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("0:00-0:30: ok\nthis line is prose\n", 2),
        ("0:00-0:30:\n", 1),
        ("0:00-0:30:    \n", 1),
        ("0:30-0:10: backwards\n", 1),
        ("0:00+: a\n0:00+: b\n", 2),
        ("0:00-: missing end\n", 1),
        ("1:75: bad seconds\n", 1),
        ("0:00 0:30: no dash\n", 1),
        ("Verse 1 (0:00-0:30): prompt\n", 1),
    ],
)
def test_bad_lines_name_their_line_number(text, line):
    with pytest.raises(ScheduleError, match=rf"line {line}\b"):
        parse_schedule(text)


def test_empty_schedule_is_an_error():
    with pytest.raises(ScheduleError, match="no entries"):
        parse_schedule("# only a comment\n\n")


@given(st.text(max_size=300))
@settings(max_examples=500, deadline=None)
def test_fuzzed_text_only_raises_schedule_error(text):
    try:
        entries = parse_schedule(text)
    except ScheduleError:
        return
    assert entries and all(e.value.strip() for e in entries)
    assert [e.start for e in entries] == sorted(e.start for e in entries)


@given(st.lists(st.sampled_from(list("0123456789:-+.\u2013\u2014 #*\nab")), max_size=60).map("".join))
@settings(max_examples=500, deadline=None)
def test_fuzzed_schedule_like_text_only_raises_schedule_error(text):
    try:
        parse_schedule(text)
    except ScheduleError:
        pass


def test_lookup_uses_covering_range_then_nearest_earlier_entry():
    entries = parse_schedule("0:10-0:20: a\n0:30-0:40: b\n1:00+: c\n")
    assert entry_at(entries, 0).value == "a"  # before every entry: the first
    assert entry_at(entries, 15).value == "a"
    assert entry_at(entries, 25).value == "a"  # gap: nearest earlier entry
    assert entry_at(entries, 35).value == "b"
    assert entry_at(entries, 45).value == "b"
    assert entry_at(entries, 3600).value == "c"


def test_overlapping_ranges_prefer_the_later_start():
    entries = parse_schedule("0:00+: base\n0:30-0:40: insert\n")
    assert entry_at(entries, 35).value == "insert"
    assert entry_at(entries, 45).value == "base"


@given(st.floats(min_value=0, max_value=10_000, allow_nan=False), st.floats(min_value=0.5, max_value=60))
def test_snap_time_is_the_nearest_grid_point(t, stride):
    snapped = snap_time(t, stride)
    k = round(snapped / stride)
    assert snapped == pytest.approx(k * stride)
    assert abs(snapped - t) <= stride / 2 + 1e-6


def test_snapping_example_from_the_guide():
    entries = snap_entries(parse_schedule("0:00-1:15: a\n1:15+: b\n"), STRIDE)
    assert entries[1].start == pytest.approx(4 * STRIDE)  # 1:15 -> 1:11.68


def test_entry_that_collapses_under_snapping_is_dropped():
    entries = snap_entries(parse_schedule("0:00-0:20: a\n0:20-0:24: tiny\n0:24+: c\n"), STRIDE)
    assert [e.value for e in entries] == ["a", "c"]


@st.composite
def schedules(draw):
    count = draw(st.integers(min_value=1, max_value=8))
    centis = draw(st.lists(st.integers(min_value=0, max_value=40_000), min_size=count, max_size=count, unique=True))
    lines = [f"{c / 100:.2f}+: prompt {n}" for n, c in enumerate(sorted(centis))]
    return "\n".join(lines)


@given(schedules(), st.sampled_from([16.0, 16.96, 17.92, 18.88]), st.integers(min_value=1, max_value=30))
@settings(max_examples=200, deadline=None)
def test_snapped_hard_switch_gives_each_iteration_one_pure_prompt_on_the_grid(text, stride, iterations):
    entries = parse_schedule(text)
    selections = select_iterations(entries, stride, iterations, 0.0, True)
    snapped = snap_entries(entries, stride)
    for sel in selections:
        assert sel.blend == 0.0 and sel.other is sel.current
        assert sel.time == pytest.approx(sel.iteration * stride)
        # with snapped boundaries, the prompt is the same at any time inside the stride
        later = entry_at(snapped, sel.time + stride * 0.999)
        assert later.line == sel.current.line
    for entry in snapped:
        assert entry.start / stride == pytest.approx(round(entry.start / stride), abs=1e-9)


@given(
    schedules(),
    st.sampled_from([16.96, 17.92]),
    st.floats(min_value=0, max_value=120),
    st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_blend_is_never_an_accidental_even_mix(text, stride, blend, snap):
    entries = parse_schedule(text)
    selections = select_iterations(entries, stride, 30, blend, snap)
    hard = select_iterations(entries, stride, 30, 0.0, snap)
    for sel, plain in zip(selections, hard):
        assert 0.0 <= sel.blend < 0.5 - 1e-9
        assert sel.current.line == plain.current.line  # blending never changes which prompt dominates
        if sel.blend == 0:
            assert sel.other is sel.current
        else:
            assert sel.other is not sel.current


@given(st.sampled_from([16.96, 17.92]), st.floats(min_value=1.0, max_value=6.0))
@settings(max_examples=100, deadline=None)
def test_blend_is_symmetric_around_a_boundary(stride, ratio):
    entries = parse_schedule(f"0:00+: a\n{10 * stride:.6f}+: b\n")
    selections = select_iterations(entries, stride, 21, ratio * stride, True)
    for j in range(1, 10):
        before, after = selections[10 - j], selections[10 + j - 1]
        assert before.current.value == "a" and after.current.value == "b"
        assert before.blend == pytest.approx(after.blend, abs=1e-9)
        if before.blend:
            assert before.other.value == "b" and after.other.value == "a"


@pytest.mark.parametrize(
    ("ratio", "factors"),
    [
        (1.0, [0.0, 0.0, 0.0]),
        (1.5, [0.067, 0.0, 0.0]),
        (2.0, [0.146, 0.0, 0.0]),
        (3.0, [0.250, 0.0, 0.0]),
        (4.0, [0.309, 0.038, 0.0]),
        (5.0, [0.345, 0.095, 0.0]),
    ],
)
def test_documented_factor_table(ratio, factors):
    entries = parse_schedule(f"0:00+: a\n{10 * STRIDE:.4f}+: b\n")
    selections = select_iterations(entries, STRIDE, 20, ratio * STRIDE, True)
    got = [round(selections[10 - j].blend, 3) for j in (1, 2, 3)]
    assert got == pytest.approx(factors, abs=1e-3)


def test_ramps_of_close_boundaries_do_not_overlap():
    entries = parse_schedule(f"0:00+: a\n{2 * STRIDE}+: b\n{3 * STRIDE}+: c\n")
    selections = select_iterations(entries, STRIDE, 6, 10 * STRIDE, True)
    for sel in selections:
        assert sel.blend < 0.5
    # iteration 2 sits between the a|b and b|c switches: it mixes at most one neighbour
    assert selections[2].current.value == "b"


@given(st.floats(min_value=-1, max_value=2))
def test_ramp_is_a_raised_cosine(u):
    value = ramp(u)
    clamped = min(max(u, 0.0), 1.0)
    assert value == pytest.approx(0.5 - 0.5 * math.cos(math.pi * clamped))
    assert ramp(1 - clamped) == pytest.approx(1 - value)


def test_unsnapped_switch_happens_at_first_iteration_starting_after_the_boundary():
    entries = parse_schedule("0:00+: a\n0:20+: b\n")
    assert select_iteration(entries, STRIDE, 1, snap=False).current.value == "a"  # 17.92 < 20
    assert select_iteration(entries, STRIDE, 2, snap=False).current.value == "b"
    assert select_iteration(entries, STRIDE, 1, snap=True).current.value == "b"  # 20 snaps to 17.92


@pytest.mark.parametrize(("stride", "blend"), [(0, 0), (-1, 0), (float("nan"), 0), (17.92, -1), (17.92, float("inf"))])
def test_bad_stride_or_blend(stride, blend):
    with pytest.raises(ScheduleError):
        select_iterations(parse_schedule("0:00+: a"), stride, 3, blend)


def test_image_index_values():
    entries = parse_schedule("0:00+: 0\n0:30+: 2\n", parse_index, "image index")
    assert [e.value for e in entries] == [0, 2]
    with pytest.raises(ScheduleError, match="line 1"):
        parse_schedule("0:00+: first\n", parse_index, "image index")
