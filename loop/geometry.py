"""Loop geometry: how a track of any length is cut into LTX-2 windows with zero drift.

Units used throughout:

* **pixel frames** (``*_frames``): decoded video frames at ``fps``;
* **latent frames** (``*_latents``): LTX-2 video latent frames. Latent 0 holds pixel
  frame 0 and latent ``k >= 1`` holds pixel frames ``8k-7 .. 8k``, so a window of
  ``L`` latents decodes to ``8 * (L - 1) + 1`` pixel frames (always ``8k + 1``);
* **seconds**: track time, ``frames / fps``.

Formulas (window ``W`` s, target overlap ``O`` s, frame rate ``fps``)::

    window frames      F_w = 8 * round((W * fps - 1) / 8) + 1        (8k+1, at least 9)
    window latents     L_w = (F_w - 1) / 8 + 1
    overlap latents    L_o = (round(O * fps) - 1) // 8 + 1, clamped to 1 .. L_w - 1
    stride frames      P_s = 8 * (L_w - L_o)          new pixel frames per iteration
    stride seconds     S   = P_s / fps                audio advance per iteration
    overlap frames     P_o = 8 * (L_o - 1) + 1        context pixel frames in a new window
    effective overlap  P_o / fps seconds

``F_w == P_o + P_s``: every loop window is its context followed by exactly ``P_s`` new
frames, so the audio advances by exactly the video it produces and nothing drifts.

The track itself is covered by ``N = 8 * ceil((n - 1) / 8) + 1`` rendered frames where
``n = ceil(D * fps)`` is the number of frames that reach the end of the ``D``-second
audio: the render is never shorter than the audio and never longer by a latent frame
or more (``8 / fps`` seconds, 0.32 s at 25 fps). The initial window renders
``min(F_w, N)`` frames; ``K = ceil((N - F_w) / P_s)`` loop iterations follow (0 when
the initial window already covers the track) and the last one renders only the
``8k+1`` frames that the remaining audio needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LTX_TEMPORAL_SCALE = 8
"""Pixel frames per LTX-2 video latent frame (after the first one)."""

AUDIO_LATENTS_PER_SECOND = 25
"""LTX-2 audio latents per second of audio (16 kHz, hop 160, downsample 4)."""

MIN_WINDOW_LATENTS = 2
"""Smallest window: one context latent plus one new latent (9 pixel frames)."""

DEFAULT_WINDOW_SECONDS = 19.88
"""Default loop window in seconds: 497 pixel frames (63 latent frames) at :data:`DEFAULT_FPS`."""

DEFAULT_OVERLAP_SECONDS = 2.0
"""Default target overlap in seconds: 7 context latent frames (49 pixel frames) at :data:`DEFAULT_FPS`."""

DEFAULT_FPS = 25
"""Default video frame rate in frames per second (LTX-2.3's native rate)."""

_EPS = 1e-9


def latents_to_frames(latents: int) -> int:
    """Pixel frames decoded from ``latents`` LTX latent frames: ``8 * (latents - 1) + 1``."""
    if latents < 1:
        raise ValueError(f"latent frame count must be >= 1, got {latents}")
    return LTX_TEMPORAL_SCALE * (latents - 1) + 1


def frames_to_latents(frames: int) -> int:
    """Latent frames that hold ``frames`` pixel frames: ``(frames - 1) // 8 + 1``."""
    if frames < 1:
        raise ValueError(f"pixel frame count must be >= 1, got {frames}")
    return (frames - 1) // LTX_TEMPORAL_SCALE + 1


def snap_frames_up(frames: int) -> int:
    """Smallest valid LTX frame count (``8k + 1``) that is ``>= frames``."""
    if frames <= 1:
        return 1
    return LTX_TEMPORAL_SCALE * math.ceil((frames - 1) / LTX_TEMPORAL_SCALE) + 1


def audio_latents_for_frames(frames: int, fps: float) -> int:
    """Audio latents covering ``frames`` pixel frames: ``ceil(frames / fps * 25)``."""
    return math.ceil(frames / fps * AUDIO_LATENTS_PER_SECOND - _EPS)


def _check_positive_number(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


@dataclass(frozen=True)
class LoopGeometry:
    """Window, overlap and stride of the loop, all in whole latent frames.

    Build it with :func:`loop_geometry`, which validates the user's seconds.
    """

    fps: float
    window_frames: int
    overlap_latents: int
    requested_window_seconds: float
    requested_overlap_seconds: float

    @property
    def window_latents(self) -> int:
        """``L_w``: latent frames in a full window."""
        return frames_to_latents(self.window_frames)

    @property
    def window_seconds(self) -> float:
        """Seconds covered by a full window: ``F_w / fps``."""
        return self.window_frames / self.fps

    @property
    def stride_latents(self) -> int:
        """New latent frames per loop iteration: ``L_w - L_o``."""
        return self.window_latents - self.overlap_latents

    @property
    def stride_frames(self) -> int:
        """``P_s``: new pixel frames per loop iteration, ``8 * (L_w - L_o)``."""
        return LTX_TEMPORAL_SCALE * self.stride_latents

    @property
    def stride_seconds(self) -> float:
        """``S``: audio advance per loop iteration in seconds, ``P_s / fps``."""
        return self.stride_frames / self.fps

    @property
    def overlap_frames(self) -> int:
        """``P_o``: pixel frames of context at the start of a loop window, ``8 (L_o - 1) + 1``."""
        return latents_to_frames(self.overlap_latents)

    @property
    def overlap_seconds(self) -> float:
        """Effective overlap in seconds, ``P_o / fps``: where "generate" masks should start."""
        return self.overlap_frames / self.fps

    def iteration_start_seconds(self, iteration: int) -> float:
        """Track time where loop iteration ``iteration`` starts: ``iteration * P_s / fps``."""
        return iteration * self.stride_frames / self.fps


def loop_geometry(window_seconds: float, overlap_seconds: float, fps: float) -> LoopGeometry:
    """Quantise a window and a target overlap (seconds) to whole latent frames.

    Raises ``ValueError`` naming the input when the window is not positive, the overlap is
    negative or not smaller than the window, or ``fps`` is not positive.
    """
    fps = _check_positive_number("fps", fps)
    window = _check_positive_number("window_seconds", window_seconds)
    try:
        overlap = float(overlap_seconds)
    except (TypeError, ValueError):
        raise ValueError(f"overlap_seconds must be a number, got {overlap_seconds!r}") from None
    if not math.isfinite(overlap) or overlap < 0:
        raise ValueError(f"overlap_seconds must be a finite number >= 0, got {overlap_seconds!r}")
    if overlap >= window:
        raise ValueError(
            f"overlap_seconds ({overlap:g}) must be smaller than window_seconds ({window:g}): "
            f"each iteration needs new frames after its context. Typical: window {DEFAULT_WINDOW_SECONDS:g}, "
            f"overlap {DEFAULT_OVERLAP_SECONDS:g}."
        )
    window_latents = max(MIN_WINDOW_LATENTS, math.floor((window * fps - 1) / LTX_TEMPORAL_SCALE + 0.5) + 1)
    overlap_pixel = math.floor(overlap * fps + 0.5)
    overlap_latents = (overlap_pixel - 1) // LTX_TEMPORAL_SCALE + 1
    overlap_latents = min(max(overlap_latents, 1), window_latents - 1)
    return LoopGeometry(
        fps=fps,
        window_frames=latents_to_frames(window_latents),
        overlap_latents=overlap_latents,
        requested_window_seconds=window,
        requested_overlap_seconds=overlap,
    )


DEFAULT_GEOMETRY = loop_geometry(DEFAULT_WINDOW_SECONDS, DEFAULT_OVERLAP_SECONDS, DEFAULT_FPS)
"""The loop geometry of the three defaults above; every default below is read from it."""

DEFAULT_STRIDE_SECONDS = DEFAULT_GEOMETRY.stride_seconds
"""Default effective stride in seconds: 448 pixel frames (56 latent frames) / 25 fps = 17.92 s."""

DEFAULT_WINDOW_LATENTS = DEFAULT_GEOMETRY.window_latents
"""Default window in latent frames (63)."""

DEFAULT_OVERLAP_LATENTS = DEFAULT_GEOMETRY.overlap_latents
"""Default context in latent frames (7)."""

DEFAULT_OVERLAP_FRAMES = DEFAULT_GEOMETRY.overlap_frames
"""Default context in pixel frames: ``8 * (7 - 1) + 1 = 49``."""

COMMON_FRAME_RATES = (24, 25, 30, 48, 50, 60)
"""Whole frame rates (frames per second) a loop usually runs at; the controller's fps input is an integer."""

_STRIDE_TOLERANCE_FRAMES = 1e-3


def nearest_grid_stride(stride_seconds: float, fps: float) -> float:
    """The stride nearest ``stride_seconds`` that is a whole number (>= 1) of latent frames at ``fps``.

    ``S' = 8 * max(1, round(S * fps / 8)) / fps`` seconds.
    """
    latents = max(1, round(float(stride_seconds) * float(fps) / LTX_TEMPORAL_SCALE))
    return latents * LTX_TEMPORAL_SCALE / float(fps)


def stride_grid_problem(stride_seconds: float, fps: float, name: str = "stride_seconds") -> str | None:
    """``None`` when ``stride_seconds * fps`` is a positive multiple of 8 pixel frames, else the reason.

    A stride off this grid (typed by hand instead of wired from AudioLoopController) makes the
    schedule's iteration starts disagree with the windows the loop renders. The text names the
    input, the value and the nearest valid stride.
    """
    fps = _check_positive_number("fps", fps)
    stride = _check_positive_number(name, stride_seconds)
    frames = stride * fps
    latents = round(frames / LTX_TEMPORAL_SCALE)
    if latents >= 1 and abs(latents * LTX_TEMPORAL_SCALE - frames) <= _STRIDE_TOLERANCE_FRAMES:
        return None
    return (
        f"{name}={stride:g} is {frames:g} pixel frames at {fps:g} fps, not a whole number of latent frames "
        f"(multiples of 8 frames = {LTX_TEMPORAL_SCALE / fps:g} s): the nearest valid stride is "
        f"{nearest_grid_stride(stride, fps):g}. Wire AudioLoopController's stride_seconds instead of typing it."
    )


def check_stride_on_grid(stride_seconds: float, fps: float, name: str = "stride_seconds") -> float:
    """``stride_seconds`` as a float, or ``ValueError`` from :func:`stride_grid_problem`."""
    problem = stride_grid_problem(stride_seconds, fps, name)
    if problem is not None:
        raise ValueError(problem)
    return float(stride_seconds)


def geometry_from_stride(window_seconds: float, stride_seconds: float, fps: float) -> LoopGeometry:
    """Rebuild the geometry from a window and an effective stride (as wired from the controller).

    The stride must be a whole number of latent frames (``P_s = stride * fps`` a multiple of 8)
    and shorter than the window; otherwise a ``ValueError`` says which stride values are valid.
    """
    fps = _check_positive_number("fps", fps)
    stride = _check_positive_number("stride_seconds", stride_seconds)
    full = loop_geometry(window_seconds, 0.0, fps)
    stride_frames = stride * fps
    stride_latents = round(stride_frames / LTX_TEMPORAL_SCALE)
    if abs(stride_latents * LTX_TEMPORAL_SCALE - stride_frames) > 1e-3 or not (
        1 <= stride_latents <= full.window_latents - 1
    ):
        nearest = min(max(stride_latents, 1), full.window_latents - 1) * LTX_TEMPORAL_SCALE / fps
        raise ValueError(
            f"stride_seconds={stride:g} is not a whole number of latent frames shorter than the "
            f"{full.window_seconds:g} s window at {fps:g} fps (8 pixel frames = {8 / fps:g} s). "
            f"Wire stride_seconds from AudioLoopController, or use e.g. {nearest:g}."
        )
    return LoopGeometry(
        fps=fps,
        window_frames=full.window_frames,
        overlap_latents=full.window_latents - stride_latents,
        requested_window_seconds=full.requested_window_seconds,
        requested_overlap_seconds=(full.window_latents - stride_latents - 1) * LTX_TEMPORAL_SCALE / fps,
    )


@dataclass(frozen=True)
class IterationWindow:
    """One sampler pass. Iteration 0 is the initial render; 1..K run inside the loop.

    ``start_frame``/``window_frames`` are pixel frames on the track's frame grid; the window's
    audio slice is ``[start_seconds, start_seconds + window_seconds)``. ``new_frames`` is what
    the pass adds to the final video after its context is trimmed (its whole window for
    iteration 0). ``past_end`` marks a body run beyond the last iteration (the native loop runs its
    body once even when told to run 0 iterations, and keeps going if its count is larger than the
    plan and the stop is not wired): its values only keep the body runnable.
    """

    iteration: int
    start_frame: int
    window_frames: int
    context_frames: int
    fps: float
    is_final: bool
    past_end: bool = False

    @property
    def new_frames(self) -> int:
        return self.window_frames - self.context_frames

    @property
    def window_latents(self) -> int:
        return frames_to_latents(self.window_frames)

    @property
    def context_latents(self) -> int:
        return 0 if self.context_frames == 0 else frames_to_latents(self.context_frames)

    @property
    def new_latents(self) -> int:
        return self.window_latents - self.context_latents

    @property
    def start_seconds(self) -> float:
        return self.start_frame / self.fps

    @property
    def window_seconds(self) -> float:
        return self.window_frames / self.fps

    @property
    def end_seconds(self) -> float:
        return (self.start_frame + self.window_frames) / self.fps

    @property
    def audio_latents(self) -> int:
        """Audio latents this window's audio slice encodes to: ``ceil(F / fps * 25)``."""
        return audio_latents_for_frames(self.window_frames, self.fps)


@dataclass(frozen=True)
class LoopPlan:
    """The whole render of a ``audio_seconds`` track: every window, in order."""

    geometry: LoopGeometry
    audio_seconds: float
    total_frames: int

    @property
    def rendered_seconds(self) -> float:
        """Length of the final video: ``N / fps``."""
        return self.total_frames / self.geometry.fps

    @property
    def initial_frames(self) -> int:
        """Pixel frames of the initial render: ``min(F_w, N)``."""
        return min(self.geometry.window_frames, self.total_frames)

    @property
    def loop_iterations(self) -> int:
        """``K``: loop iterations after the initial render (wire to the loop's iteration count)."""
        remaining = self.total_frames - self.initial_frames
        return math.ceil(remaining / self.geometry.stride_frames) if remaining > 0 else 0

    @property
    def final_window_frames(self) -> int:
        """Pixel frames of the last pass (the initial render when ``K == 0``)."""
        return self.window(self.loop_iterations).window_frames

    def window(self, iteration: int) -> IterationWindow:
        """The window of pass ``iteration`` (0 = initial render, 1-based loop iterations after).

        Iterations past ``K`` (the native loop runs its body once even when told to run 0
        iterations, and reads its stop only after the body ran) get a runnable window inside the track, marked
        ``past_end``: the last loop window, or when there is none a window at 0 whose context
        fits in the initial render.
        """
        if isinstance(iteration, bool) or not isinstance(iteration, int):
            raise ValueError(f"current_iteration must be an integer, got {iteration!r}")
        if iteration < 0:
            raise ValueError(f"current_iteration must be >= 0, got {iteration}")
        geo = self.geometry
        k = self.loop_iterations
        if iteration == 0:
            return IterationWindow(0, 0, self.initial_frames, 0, geo.fps, is_final=k == 0)
        if iteration <= k:
            start = iteration * geo.stride_frames
            frames = min(geo.window_frames, self.total_frames - start)
            return IterationWindow(iteration, start, frames, geo.overlap_frames, geo.fps, is_final=iteration == k)
        if k >= 1:
            last = self.window(k)
            return IterationWindow(
                iteration, last.start_frame, last.window_frames, last.context_frames, geo.fps,
                is_final=True, past_end=True,
            )
        # No loop window exists: the previous pass is the (short) initial render, so the context
        # can only be as long as it is.
        context = latents_to_frames(min(geo.overlap_latents, frames_to_latents(self.initial_frames)))
        frames = min(geo.window_frames, max(self.total_frames, context + LTX_TEMPORAL_SCALE))
        return IterationWindow(iteration, 0, frames, context, geo.fps, is_final=True, past_end=True)

    def windows(self) -> list[IterationWindow]:
        """The initial render followed by the ``K`` loop iterations."""
        return [self.window(i) for i in range(self.loop_iterations + 1)]


def frames_covering(audio_seconds: float, fps: float) -> int:
    """Pixel frames that reach the end of the audio: ``ceil(D * fps)`` (at least 1)."""
    return max(1, math.ceil(audio_seconds * fps - 1e-6))


def plan_loop(audio_seconds: float, geometry: LoopGeometry) -> LoopPlan:
    """Plan the render of a track of ``audio_seconds`` seconds with ``geometry``.

    ``N = 8 * ceil((ceil(D * fps) - 1) / 8) + 1`` frames are rendered, so
    ``0 <= N / fps - D < 8 / fps``.
    """
    seconds = _check_positive_number("audio duration (seconds)", audio_seconds)
    total = snap_frames_up(frames_covering(seconds, geometry.fps))
    return LoopPlan(geometry=geometry, audio_seconds=seconds, total_frames=total)
