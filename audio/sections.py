"""Sections of a track (intro / verse / chorus / bridge / break / outro) by energy and novelty.

The frames are pooled into ``BLOCK_SECONDS`` blocks: the mean mel spectrum (dB, each band
standardised over the track) and the block level ``E_j`` (dBFS of the mean frame mean square).
Two novelty curves over block boundaries ``j``, each over a half-width of ``L`` blocks
(``NOVELTY_SECONDS``):

* timbre: Foote's checkerboard kernel on the cosine self-similarity matrix of the mel blocks,
  divided by the kernel's absolute sum (0 = both sides alike, 1 = opposite), times
  ``TIMBRE_WEIGHT``;
* energy: ``|mean(E[j:j+L]) - mean(E[j-L:j])| / 6 dB`` (a 6 dB step scores 1).

Their sum is peak-picked: local maxima at least ``min_section`` seconds apart (the stronger wins),
scoring at least ``THRESHOLD``. Each section's level ``S`` (dB, mean of its blocks' mean square)
is compared with the loudest section's ``S_max``; ``rel = S - S_max``:

* ``rel < BREAK_DB`` (-12 dB) in the middle: **break**;
* the first section quieter than ``rel < EDGE_DB`` (-4 dB): **intro**; the last one: **outro**;
* ``rel >= CHORUS_DB`` (-3 dB): **chorus**; otherwise **verse**;
* a verse or chorus after the first chorus whose spectral shape (mean mel dB minus its mean over
  bands) differs from every other verse and chorus by more than ``BRIDGE_DB`` (3 dB RMS over the
  bands) and is not the last section: **bridge**.

These are song labels. Once the vocal activity and the content are known,
:func:`label_by_content` names what is not a song for what it is: any section quieter than
``SILENCE_DB`` is **silence**; in speech (a talk, a podcast: no music) the others are **speech**
when at least ``SPEECH_SECTION`` of their frames hold a voice, else **pause** (applause,
laughter, a jingle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .features import DB_FLOOR, Spectrogram

BLOCK_SECONDS = 0.5
NOVELTY_SECONDS = 6.0
MIN_SECTION_SECONDS = 8.0
THRESHOLD = 0.45
TIMBRE_WEIGHT = 1.0
BREAK_DB = -12.0
EDGE_DB = -4.0
CHORUS_DB = -3.0
BRIDGE_DB = 3.0
SILENCE_DB = -50.0
"""A section whose level (mean frame mean square) is below this many dBFS is silence, whatever the content."""
SPEECH_SECTION = 0.2
"""Share of a section's frames with vocal activity from which a section of a speech track is speech."""
LABELS = ("intro", "verse", "chorus", "bridge", "break", "outro", "speech", "pause", "silence")


@dataclass
class Section:
    """A section ``[start, end)`` seconds with its label, level (dBFS) and level below the loudest (dB)."""

    start: float
    end: float
    label: str
    level_db: float
    relative_db: float
    vocal_fraction: float = 0.0

    @property
    def duration(self) -> float:
        return self.end - self.start


def _blocks(spec: Spectrogram) -> tuple[np.ndarray, np.ndarray, int]:
    per = max(1, min(spec.frames, int(round(BLOCK_SECONDS / spec.frame_seconds))))
    count = max(1, spec.frames // per)
    used = count * per
    mel = spec.mel_db[:, :used].reshape(spec.mel_db.shape[0], count, per).mean(axis=2)
    ms = spec.mean_square[:used].reshape(count, per).mean(axis=1)
    level = np.maximum(10 * np.log10(np.maximum(ms, 1e-30)), DB_FLOOR)
    return mel, level, per


def novelty_curve(spec: Spectrogram) -> tuple[np.ndarray, float]:
    """Combined novelty per block boundary and the block length in seconds."""
    mel, level, per = _blocks(spec)
    block_seconds = per * spec.frame_seconds
    n = mel.shape[1]
    half = max(2, int(round(NOVELTY_SECONDS / block_seconds)))
    if n < 2 * 2:
        return np.zeros(n), block_seconds
    feats = mel - mel.mean(axis=1, keepdims=True)
    feats /= feats.std(axis=1, keepdims=True) + 1e-6
    norms = np.linalg.norm(feats, axis=0) + 1e-9
    unit = feats / norms
    # Foote kernel: +1 on the two same-side quadrants, -1 across, Gaussian taper.
    offsets = np.arange(-half, half)
    taper = np.exp(-0.5 * ((offsets + 0.5) / (0.5 * half)) ** 2)
    sign = np.where(offsets < 0, -1.0, 1.0)
    kernel = np.outer(sign * taper, sign * taper)
    # Only the band of the self-similarity matrix within the kernel is formed: for boundary j the
    # blocks j - L .. j + L - 1 (clamped at the ends, as edge padding of the matrix would),
    # their [2L, 2L] cosine similarities, weighted by the kernel. An hour has 7200 blocks, whose
    # full matrix would be 400 MB.
    timbre = np.zeros(n)
    rows = unit.T
    for a in range(0, n, 1024):
        j = np.arange(a, min(n, a + 1024))
        near = rows[np.clip(j[:, None] + offsets[None, :], 0, n - 1)]  # [J, 2L, bands]
        timbre[j] = np.einsum("jab,ab->j", near @ near.transpose(0, 2, 1), kernel)
    timbre = np.maximum(timbre, 0) / float(np.abs(kernel).sum())
    cums = np.concatenate([[0.0], np.cumsum(level)])
    energy = np.zeros(n)
    for j in range(1, n):
        lo, hi = max(0, j - half), min(n, j + half)
        before = (cums[j] - cums[lo]) / (j - lo)
        after = (cums[hi] - cums[j]) / (hi - j)
        energy[j] = abs(after - before) / 6.0
    novelty = TIMBRE_WEIGHT * timbre + energy
    novelty[0] = 0.0
    return novelty, block_seconds


def pick_boundaries(novelty: np.ndarray, block_seconds: float, min_section: float) -> list[int]:
    """Block indices of section starts (strongest peaks first, ``min_section`` s apart)."""
    gap = max(1, int(round(min_section / block_seconds)))
    n = len(novelty)
    order = np.argsort(-novelty, kind="stable")
    chosen: list[int] = []
    for j in order:
        j = int(j)
        if novelty[j] < THRESHOLD:
            break
        if j < gap or n - j < gap // 2:
            continue
        if all(abs(j - c) >= gap for c in chosen):
            chosen.append(j)
    return sorted(chosen)


def _label(sections: list[Section], distance: np.ndarray) -> None:
    if not sections:
        return
    loudest = max(s.level_db for s in sections)
    for s in sections:
        s.relative_db = s.level_db - loudest if math.isfinite(loudest) else 0.0
    last = len(sections) - 1
    for i, s in enumerate(sections):
        rel = s.relative_db
        if len(sections) > 1 and i == 0 and rel < EDGE_DB:
            s.label = "intro"
        elif len(sections) > 1 and i == last and rel < EDGE_DB:
            s.label = "outro"
        elif rel < BREAK_DB:
            s.label = "break"
        elif rel >= CHORUS_DB:
            s.label = "chorus"
        else:
            s.label = "verse"
    seen_chorus = False
    for i, s in enumerate(sections):
        if s.label == "chorus" and not seen_chorus:
            seen_chorus = True
            continue
        if seen_chorus and s.label in ("verse", "chorus") and i < last:
            others = [distance[i, k] for k in range(len(sections))
                      if k != i and sections[k].label in ("verse", "chorus")]
            if others and min(others) > BRIDGE_DB:
                s.label = "bridge"


def find_sections(spec: Spectrogram, min_section: float = MIN_SECTION_SECONDS) -> list[Section]:
    """Sections covering ``0 .. duration`` seconds (see the module docstring)."""
    if spec.duration <= 0:
        return []
    novelty, block_seconds = novelty_curve(spec)
    starts = [0] + pick_boundaries(novelty, block_seconds, min_section)
    mel, level, _ = _blocks(spec)
    n = mel.shape[1]
    bounds = starts + [n]
    sections: list[Section] = []
    means = []
    for a, b in zip(bounds, bounds[1:]):
        ms = float(np.mean(10 ** (level[a:b] / 10))) if b > a else 0.0
        level_db = 10 * math.log10(ms) if ms > 10 ** (DB_FLOOR / 10) else DB_FLOOR
        start = a * block_seconds
        end = spec.duration if b == n else b * block_seconds
        sections.append(Section(start, end, "verse", level_db, 0.0))
        means.append(mel[:, a:b].mean(axis=1) if b > a else np.zeros(mel.shape[0]))
    shapes = np.array(means)
    shapes = shapes - shapes.mean(axis=1, keepdims=True)  # spectral shape, level removed
    distance = np.sqrt(np.mean((shapes[:, None, :] - shapes[None, :, :]) ** 2, axis=2))
    _label(sections, distance)
    return sections


def label_by_content(sections: list[Section], content: str) -> None:
    """Relabel sections that are not song parts (see the module docstring): silence for any
    content, speech / pause for ``content == "speech"``. Call after :func:`attach_vocals`."""
    for s in sections:
        if s.level_db < SILENCE_DB:
            s.label = "silence"
        elif content == "speech":
            s.label = "speech" if s.vocal_fraction >= SPEECH_SECTION else "pause"


def attach_vocals(sections: list[Section], active: np.ndarray, frame_seconds: float) -> None:
    """Set each section's ``vocal_fraction``: the share of its frames with vocal activity."""
    for s in sections:
        a = int(s.start / frame_seconds)
        b = max(a + 1, int(s.end / frame_seconds))
        chunk = active[a:b]
        s.vocal_fraction = float(chunk.mean()) if len(chunk) else 0.0
