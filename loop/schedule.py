"""Timestamp schedules: strict parsing, lookup, snapping to the stride grid, blending.

A schedule is text, one entry per line::

    0:00-0:18: a woman in a red coat is singing, medium shot, static camera
    0:18 – 1:12: a woman in a red coat is singing, close-up, static camera
    1:12+: a woman in a red coat is singing, medium close-up, static camera

Times are ``M:SS``, ``M:SS.ss``, ``H:MM:SS(.ss)`` or bare seconds (``83``, ``83.5``). An entry is
``START-END: value`` (``-``, en dash ``–`` or em dash ``—``), ``START+: value`` or ``START: value``
(both: from START until a later entry takes over). Blank lines and lines starting with ``#`` are
ignored, a leading Markdown bullet (``-``, ``*``, ``•``) is allowed; every other line is an error
that names its line number. A time covered by no range takes the nearest earlier entry; a time
before every entry takes the first one.

Iteration ``i`` of the loop plays the entry in effect at its window start ``t_i = i * S``
(``S`` = effective stride in seconds). With snapping on, every boundary ``b`` moves to the
nearest grid point ``round(b / S) * S`` first, so each iteration runs one pure entry.

Blending (``blend_seconds = B > 0``): wherever the entry changes between iteration ``k - 1``
and ``k``, a raised-cosine ramp is centred half-way between them, at ``c = (k - 1/2) * S``.
The weight of the other entry across that boundary at iteration time ``t`` is::

    u = (t - c + B/2) / B,  clamped to 0..1
    ramp(u) = (1 - cos(pi * u)) / 2                 (0 -> 1 across the ramp)
    weight of the neighbour = ramp(u) before c, 1 - ramp(u) after c

Iteration times are ``c ± (j + 1/2) S``, never ``c`` itself, so the neighbour's weight is
always below 1/2: no iteration runs an accidental 50/50 mix, and the two iterations either
side of a boundary are mirror images. ``B <= S`` is a clean switch (every weight is 0). A
ramp never reaches past the middle of its neighbouring section (its width is capped at
the distance to the neighbouring boundaries), so at most two entries mix at any time.
Factors at iteration times for ``B = n * S`` (``j`` = iterations from the boundary)::

    B        j=1 (just before/after)   j=2      j=3
    1 S      0                         0        0
    1.5 S    0.067                     0        0
    2 S      0.146                     0        0
    3 S      0.250                     0        0
    4 S      0.309                     0.038    0
    5 S      0.345                     0.095    0
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Callable, Generic, Sequence, TypeVar

T = TypeVar("T")


class ScheduleError(ValueError):
    """A schedule line that does not parse, or a schedule that cannot be used."""


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def read_schedule_file(path, option: str = "--schedule") -> str:
    """The text of a schedule file: UTF-8 (with or without BOM), or UTF-16/32 with a BOM.

    Raises :class:`ScheduleError` naming ``option`` and the file when it cannot be read, is not
    in one of those encodings (e.g. Latin-1: save it as UTF-8), or holds no entry at all (an
    empty file is never taken to mean "no schedule")."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as err:
        raise ScheduleError(f"cannot read {option} {path}: {err.strerror or err}") from None
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        raise ScheduleError(f"{option} {path} is not {encoding.upper()} text (byte {err.start}: "
                            f"{data[err.start:err.start + 1]!r}); save it as UTF-8") from None
    text = text.lstrip("\ufeff")
    if not any(line.strip() and not line.strip().startswith("#") for line in text.splitlines()):
        raise ScheduleError(f"{option} {path} is empty (no schedule entry); write lines like "
                            "'0:00+: your prompt', or leave the option out")
    return text


_TIME = r"\d+(?::\d+){0,2}(?:\.\d+)?"
_WHOLE_TIME = _TIME + r"(?![\d.]|:\d)"  # the longest time only, never a shorter prefix of it
_DASH = r"[-\u2013\u2014]"
_LINE = re.compile(
    rf"^(?P<start>{_WHOLE_TIME})\s*(?:(?P<plus>\+)|{_DASH}\s*(?P<end>{_WHOLE_TIME}))?\s*:(?P<value>.*)$"
)
_BULLET = re.compile(r"^(?:[-*\u2022])\s+")


MAX_BLEND_SECONDS = 3600.0  # the nodes' blend_seconds maximum; wider ramps all mix about 50/50
MAX_TIME_DIGITS = 9  # per field: up to 999,999,999 s (about 31 years) in bare seconds


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def parse_timestamp(text: str) -> float:
    """Seconds from ``SS(.s)``, ``M:SS(.s)`` or ``H:MM:SS(.s)``.

    Every field after the first must be below 60 and the fraction may only follow the last
    field; anything else raises :class:`ScheduleError`.
    """
    text = text.strip()
    if not re.fullmatch(_TIME, text):
        raise ScheduleError(f"'{_clip(text)}' is not a time (use M:SS, M:SS.ss, H:MM:SS or seconds)")
    fields = text.split(":")
    if any(len(f.split(".")[0]) > MAX_TIME_DIGITS for f in fields):
        raise ScheduleError(f"'{_clip(text)}' is too large a time (at most {MAX_TIME_DIGITS} digits per field)")
    head = [int(f) for f in fields[:-1]]
    last = float(fields[-1])
    if len(fields) > 1 and last >= 60:
        raise ScheduleError(f"'{text}': seconds must be below 60")
    if len(fields) == 3 and head[1] >= 60:
        raise ScheduleError(f"'{text}': minutes must be below 60 in H:MM:SS")
    seconds = 0.0
    for value in head:
        seconds = seconds * 60 + value
    return seconds * 60 + last if head else last


def format_timestamp(seconds: float) -> str:
    """``M:SS`` (or ``M:SS.ss`` when not whole; ``H:MM:SS`` from one hour)."""
    centis = round(seconds * 100)
    whole, frac = divmod(centis, 100)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    tail = f"{secs:02d}" if frac == 0 else f"{secs:02d}.{frac:02d}"
    return f"{hours}:{minutes:02d}:{tail}" if hours else f"{minutes}:{tail}"


@dataclass(frozen=True)
class ScheduleEntry(Generic[T]):
    """One schedule line: ``value`` from ``start`` (s) until ``end`` (s, ``None`` = open)."""

    start: float
    end: float | None
    value: T
    line: int

    def covers(self, t: float) -> bool:
        return self.start <= t + 1e-9 and (self.end is None or t < self.end - 1e-9)


def parse_schedule(
    text: str,
    convert: Callable[[str], T] = str,  # type: ignore[assignment]
    what: str = "prompt",
) -> list[ScheduleEntry[T]]:
    """Parse schedule text into entries sorted by start time.

    ``convert`` turns the text after the range into the entry's value and may raise
    ``ValueError`` to reject it. Raises :class:`ScheduleError` with the line number for any
    line that is not blank, a ``#`` comment or a valid entry; for an empty value; for an
    end not after its start; for two entries with the same start; and for a schedule with
    no entry at all.
    """
    if not isinstance(text, str):
        raise ScheduleError(f"schedule must be text, got {type(text).__name__}")
    entries: list[ScheduleEntry[T]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        line = _BULLET.sub("", line, count=1)
        match = _LINE.match(line)
        if match is None:
            raise ScheduleError(
                f"schedule line {number}: cannot read {raw.strip()!r}; expected "
                f"'START-END: {what}', 'START+: {what}' or 'START: {what}' with times like 0:18, "
                "1:02.5, 1:00:05 or 75"
            )
        try:
            start = parse_timestamp(match["start"])
            end = parse_timestamp(match["end"]) if match["end"] else None
        except ScheduleError as err:
            raise ScheduleError(f"schedule line {number}: {err}") from None
        if end is not None and end <= start:
            raise ScheduleError(
                f"schedule line {number}: range ends at {format_timestamp(end)}, not after its start "
                f"{format_timestamp(start)}"
            )
        value_text = match["value"].strip()
        if not value_text:
            raise ScheduleError(f"schedule line {number}: the {what} after the time range is empty")
        try:
            value = convert(value_text)
        except (ValueError, TypeError) as err:
            raise ScheduleError(f"schedule line {number}: {err}") from None
        entries.append(ScheduleEntry(start, end, value, number))
    if not entries:
        raise ScheduleError(f"schedule has no entries; write at least one line like '0:00+: your {what}'")
    entries.sort(key=lambda e: e.start)
    for previous, current in zip(entries, entries[1:]):
        if abs(previous.start - current.start) < 1e-9:
            first, second = sorted((previous.line, current.line))
            raise ScheduleError(
                f"schedule line {second} starts at {format_timestamp(current.start)} like line {first}; "
                "give each entry its own start"
            )
    return entries


def entry_at(entries: Sequence[ScheduleEntry[T]], t: float) -> ScheduleEntry[T]:
    """The entry in effect at ``t`` seconds.

    Among entries whose range covers ``t`` the one with the latest start wins; if none
    covers ``t``, the entry with the nearest earlier start; before every entry, the first.
    """
    if not entries:
        raise ScheduleError("schedule has no entries")
    covering = [e for e in entries if e.covers(t)]
    if covering:
        return covering[-1]
    earlier = [e for e in entries if e.start <= t + 1e-9]
    return earlier[-1] if earlier else entries[0]


def snap_time(t: float, stride_seconds: float) -> float:
    """Nearest multiple of the stride, halves rounded up: ``floor(t / S + 1/2) * S``."""
    return math.floor(t / stride_seconds + 0.5 + 1e-9) * stride_seconds


def snap_entries(entries: Sequence[ScheduleEntry[T]], stride_seconds: float) -> list[ScheduleEntry[T]]:
    """Entries with every start and end moved to the nearest multiple of the stride.

    An entry whose range collapses to nothing (end snapped onto its start) is dropped: no
    iteration could run it. Entries whose starts snap onto the same grid point keep only
    the one written last in time order, exactly as iterations would see them.
    """
    snapped: list[ScheduleEntry[T]] = []
    for entry in entries:
        start = snap_time(entry.start, stride_seconds)
        end = None if entry.end is None else snap_time(entry.end, stride_seconds)
        if end is not None and end <= start + 1e-9:
            continue
        if snapped and abs(snapped[-1].start - start) < 1e-9:
            snapped.pop()
        snapped.append(ScheduleEntry(start, end, entry.value, entry.line))
    return snapped


def iteration_time(iteration: int, stride_seconds: float) -> float:
    """Track time of iteration ``i``'s window start: ``i * S``."""
    return iteration * stride_seconds


def ramp(u: float) -> float:
    """Raised cosine from 0 to 1 on ``u`` in ``[0, 1]`` (clamped outside)."""
    u = min(max(u, 0.0), 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * u)


@dataclass(frozen=True)
class IterationSelection(Generic[T]):
    """What iteration ``iteration`` runs: ``(1 - blend) * current + blend * other``."""

    iteration: int
    time: float
    current: ScheduleEntry[T]
    other: ScheduleEntry[T]
    blend: float


def select_iterations(
    entries: Sequence[ScheduleEntry[T]],
    stride_seconds: float,
    iterations: int,
    blend_seconds: float = 0.0,
    snap: bool = True,
) -> list[IterationSelection[T]]:
    """Selection for iterations ``0 .. iterations - 1`` (see the module docstring for the ramp).

    ``stride_seconds`` must be positive and ``blend_seconds`` in 0..3600 (``ScheduleError``). The
    work is bounded by ``iterations`` and the schedule's last boundary, never by ``blend_seconds``.
    """
    if not (isinstance(stride_seconds, numbers.Real) and math.isfinite(stride_seconds) and stride_seconds > 0):
        raise ScheduleError(f"stride_seconds must be a number > 0, got {stride_seconds!r}")
    if not (isinstance(blend_seconds, numbers.Real) and math.isfinite(blend_seconds)
            and 0 <= blend_seconds <= MAX_BLEND_SECONDS):
        raise ScheduleError(f"blend_seconds must be a number in 0..{MAX_BLEND_SECONDS:g} (seconds), "
                            f"got {blend_seconds!r}")
    if iterations < 1:
        return []
    table = snap_entries(entries, stride_seconds) if snap else list(entries)
    if not table:
        table = [entries[0]]
    # A few iterations past the requested ones, so a ramp that starts in them is still seen; never
    # past the last boundary of the table (the entry cannot change after it), so the work is
    # bounded by the schedule's size, not by blend_seconds.
    reach = min(blend_seconds / stride_seconds, float(iterations)) + 2
    last_boundary = max(max(e.start, e.end if e.end is not None else e.start) for e in table)
    steady = max(iterations, math.ceil(last_boundary / stride_seconds) + 2)
    hard = [entry_at(table, iteration_time(i, stride_seconds)) for i in range(min(iterations + int(reach), steady))]
    switches = [k for k in range(1, len(hard)) if hard[k] is not hard[k - 1]]
    centres = [(k - 0.5) * stride_seconds for k in switches]
    widths = []
    for n, centre in enumerate(centres):
        width = blend_seconds
        if n > 0:
            width = min(width, centre - centres[n - 1])
        if n + 1 < len(centres):
            width = min(width, centres[n + 1] - centre)
        widths.append(width)

    selections = []
    for i in range(iterations):
        t = iteration_time(i, stride_seconds)
        current = hard[i]
        other, blend = current, 0.0
        if centres and blend_seconds > 0:
            n = min(range(len(centres)), key=lambda m: abs(centres[m] - t))
            centre, width, k = centres[n], widths[n], switches[n]
            if width > 0 and abs(t - centre) < width / 2:
                u = (t - centre + width / 2) / width
                if t < centre:
                    other, blend = hard[k], ramp(u)
                else:
                    other, blend = hard[k - 1], 1.0 - ramp(u)
                if blend <= 1e-12:
                    other, blend = current, 0.0
        selections.append(IterationSelection(i, t, current, other, blend))
    return selections


def select_iteration(
    entries: Sequence[ScheduleEntry[T]],
    stride_seconds: float,
    iteration: int,
    blend_seconds: float = 0.0,
    snap: bool = True,
) -> IterationSelection[T]:
    """Selection of one iteration (same rules as :func:`select_iterations`)."""
    if iteration < 0:
        raise ScheduleError(f"current_iteration must be >= 0, got {iteration}")
    return select_iterations(entries, stride_seconds, iteration + 1, blend_seconds, snap)[iteration]


def distinct_values(entries: Sequence[ScheduleEntry[T]]) -> list[T]:
    """Values in order of first appearance, each once (what a batch encode must encode)."""
    seen: list[T] = []
    for entry in entries:
        if entry.value not in seen:
            seen.append(entry.value)
    return seen


def parse_index(text: str) -> int:
    """Schedule value converter for keyframe image indices (non-negative integers)."""
    if not re.fullmatch(r"\d+", text.strip()):
        raise ValueError(f"image index must be a whole number >= 0, got {text!r}")
    return int(text)
