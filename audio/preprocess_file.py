"""The preprocess chain from file to file in bounded memory (``ltx-audioloop preprocess IN OUT``).

The same chain and the same arithmetic as :func:`.preprocess.preprocess_audio` (they share
:class:`.equaliser.OverlapAddFilter`, :func:`.preprocess.plan_levelling`, the meters and
:class:`.preprocess.Levelling`), but the track is never held: it is decoded again for each pass
(:func:`.stream.iter_file_chunks`, 10 s chunks) and equalised on the way.

1. **measure**: decode, meter the input (``lufs_before``, ``peak_before``), equalise, meter the
   EQ'd signal's loudness ``L`` and collect its limiter block peaks ``p_b``;
2. **limiter rounds** (only when the gain makes the limiter act): each secant round decodes,
   equalises, applies ``g G`` and measures the loudness (usually 2 to 4 rounds);
3. **write**: decode, equalise, apply ``g G``, meter the output and write it (PyAV, into a
   temporary beside OUT: :func:`..safeio.atomic_output`, renamed over OUT at the very end);
4. only when the output's true peak still passes the ceiling: one pass collects the output's
   block peaks for the unity-gain limiter pass ``G'`` and the write is done again.

Memory: the block peaks, ``ceil(N / 16)`` float32 (4 bytes per 16 sample frames: 2 MB for 3
minutes at 44.1 kHz, 40 MB for an hour), twice that in step 4; the BS.1770 frame energies
(8 bytes per channel per ~46 ms frame: 1.2 MB per stereo hour); and chunk-sized buffers (a
decoded 10 s chunk, the overlap-add blocks of 2^18 samples, a peak span of 2^19 samples), about
the same for every track length. Time: three decodes and equalisations plus one per limiter
round; decoding is a few per cent of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from .equaliser import OverlapAddFilter, chain_impulse_response
from .limiter import BlockPeakTracker, LimiterSettings
from .preprocess import (
    InputMeter,
    ItemReport,
    Levelling,
    LoudnessMeter,
    OutputMeter,
    PreprocessSettings,
    plan_levelling,
)
from .progress import report
from .stream import CHUNK_SECONDS

log = logging.getLogger("ltx_audioloop")


class _Source:
    """Replays of one file: decoded ``[C, n]`` float32 chunks, checked, with progress per pass."""

    def __init__(self, path: str | Path, settings: PreprocessSettings, progress, chunk_seconds: float):
        from .stream import check_format, probe_audio

        self.path = Path(path)
        self.info = probe_audio(self.path)
        check_format(self.info.sample_rate, self.info.channels, str(self.path))
        self.rate, self.channels = self.info.sample_rate, self.info.channels
        self.h, self.notes = chain_impulse_response(self.rate, settings)
        self.progress = progress
        self.chunk_seconds = chunk_seconds
        self.samples = None  # known after the first pass

    def decoded(self, stage: str) -> Iterator[np.ndarray]:
        from .stream import iter_file_chunks

        total = self.samples or max(1, self.info.samples)
        done = 0
        report(self.progress, stage, 0.0)
        for chunk in iter_file_chunks(self.path, self.chunk_seconds):
            if chunk.shape[0] != self.channels:
                raise ValueError(f"{self.path}: the channel count changes inside the stream ({self.channels} -> "
                                 f"{chunk.shape[0]})")
            if not np.isfinite(chunk).all():
                raise ValueError(f"{self.path} contains NaN or infinite samples; re-decode or clean the file")
            done += chunk.shape[1]
            report(self.progress, stage, min(1.0, done / total))
            yield chunk
        if self.samples is None:
            if done == 0:
                raise ValueError(f"{self.path} contains no audio samples")
            self.samples = done
        elif done != self.samples:
            raise ValueError(f"{self.path} changed while it was being processed ({self.samples} samples, then "
                             f"{done}); nothing was written")

    def equalised(self, stage: str, raw=None) -> Iterator[torch.Tensor]:
        """The EQ'd signal, fresh float32 chunks; ``raw(chunk)`` sees each decoded chunk first."""
        eq = OverlapAddFilter(self.h)
        for chunk in self.decoded(stage):
            if raw is not None:
                raw(chunk)
            out = eq.feed(torch.from_numpy(chunk))
            if out.shape[-1]:
                yield out
        last = eq.finish()
        if last is not None:
            yield last


def _write(source: _Source, level: Levelling, temporary: Path, output: Path, stage: str) -> tuple[float, float]:
    """One write pass into ``temporary``; the output's ``(LUFS, dBTP)``."""
    from .save import AudioWriter

    meter = OutputMeter(source.rate, source.channels, level)
    done = 0
    with AudioWriter(temporary, source.rate, source.channels, output) as writer:
        for chunk in source.equalised(stage):
            level.apply(chunk, done)
            done += chunk.shape[-1]
            meter.feed(chunk)
            writer.write(chunk)
    return meter.result()


def preprocess_file(path: str | Path, output: str | Path, settings: PreprocessSettings | None = None,
                    limiter: LimiterSettings | None = None, progress=None,
                    chunk_seconds: float = CHUNK_SECONDS) -> tuple[list[ItemReport], list[str]]:
    """Preprocess the first audio stream of ``path`` into ``output`` (``.wav``: 24-bit PCM,
    ``.flac``; format as :func:`.save.save_audio`) pass by pass (module docstring). Returns the
    report (one :class:`.preprocess.ItemReport`) and notes, as :func:`.preprocess.preprocess_audio`.
    ``output`` is replaced atomically, only when everything succeeded. ``chunk_seconds``: the
    decoded chunk length (the result does not depend on it)."""
    from ..safeio import atomic_output
    from .files import declared_wav_seconds, warn_if_truncated

    settings = (settings or PreprocessSettings()).validate()
    limiter = (limiter or LimiterSettings()).validate()
    output = Path(output)
    source = _Source(path, settings, progress, chunk_seconds)
    before = InputMeter(source.rate, source.channels)
    loudness = LoudnessMeter(source.rate, source.channels)
    tracker = BlockPeakTracker(limiter.oversampling, expected=source.info.samples)
    for chunk in source.equalised("reading and measuring", raw=before.feed):
        loudness.feed(chunk)
        tracker.feed(chunk)
    tracker.finish()
    warn_if_truncated(source.path, declared_wav_seconds(source.path), source.samples / source.rate)
    lufs_before, peak_before = before.result()
    level = plan_levelling(source.equalised, tracker.result(), source.channels, source.rate, settings, limiter,
                           loudness.lufs())
    del tracker
    with atomic_output(output) as temporary:
        lufs_after, peak_after = _write(source, level, temporary, output, "writing")
        if level.peaks is not None and peak_after > settings.ceiling_dbtp:
            # modulation put a peak a hair over: one more limiter pass at unity gain, then write again
            log.info("%s: true peak %.2f dBTP after limiting; one more limiter pass", output, peak_after)
            peaks = BlockPeakTracker(limiter.oversampling, expected=source.samples)
            done = 0
            for chunk in source.equalised("checking the ceiling"):
                level.apply(chunk, done)
                done += chunk.shape[-1]
                peaks.feed(chunk)
            peaks.finish()
            level.more = peaks.result()
            lufs_after, peak_after = _write(source, level, temporary, output, "writing again")
    limiting_db, fraction = level.stats()
    item = ItemReport(lufs_before, peak_before, lufs_after, peak_after, level.gain_db, limiting_db > 0.005,
                      limiting_db, fraction)
    return [item], source.notes
