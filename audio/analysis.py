"""The whole analysis of a track: rhythm, sections, voice, loudness, spectral balance, warnings.

:func:`analyse_track` runs the stages in order on batch item 0 of an AUDIO waveform and records
how long each took (``AudioAnalysis.timings``, seconds):

1. ``spectrogram``: one chunked pass (:mod:`.features`): loudness frames, peaks and clipping at the
   track's rate, the downmix resampled to 22.05 kHz, its STFT reduced to frame features, YIN;
   from a file (:func:`analyse_file`) the decoding happens in the same pass;
2. ``rhythm``: tempo and beats from the onset envelope (:mod:`.rhythm`);
3. ``voice``: vocal activity and pitch (:mod:`.pitch`);
4. ``sections``: sections and their labels (:mod:`.sections`);
5. ``loudness``: integrated LUFS (BS.1770 gates on the K-weighted frames) and true peak
   (4x oversampling of the loudest blocks, measured during the pass);
6. ``balance``: band levels and the warnings (:mod:`.checks`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .checks import BandLevels, Warning_, band_levels, check_track
from .features import Spectrogram, compute_spectrogram
from .pitch import VoiceAnalysis, analyse_voice, note_name
from .rhythm import Rhythm, analyse_rhythm
from .sections import Section, attach_vocals, find_sections, label_by_content
from .waveform import check_audio

CONTENTS = ("music", "speech", "instrumental")
MUSIC_PULSE = 0.25
"""Pulse clarity above which a track is taken as music when ``content`` is not given."""
SINGING_FRACTION = 0.15
SPEECH_FRACTION = 0.3


@dataclass
class AudioAnalysis:
    """Everything the report, the timeline picture and the schedule need."""

    duration: float
    sample_rate: int
    channels: int
    content: str
    content_guessed: bool
    rhythm: Rhythm
    sections: list[Section]
    voice: VoiceAnalysis
    loudness_lufs: float
    true_peak_db: float
    sample_peak_db: float
    bands: BandLevels
    warnings: list[Warning_]
    spectrogram: Spectrogram
    batch_size: int = 1
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-ready numbers (no per-frame arrays)."""
        v = self.voice
        return {
            "duration_s": round(self.duration, 3),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "content": self.content,
            "content_guessed": self.content_guessed,
            "tempo_bpm": self.rhythm.tempo_bpm,
            "pulse_clarity": self.rhythm.pulse_clarity,
            "beats_s": self.rhythm.beats,
            "sections": [
                {"start_s": round(s.start, 2), "end_s": round(s.end, 2), "label": s.label,
                 "level_dbfs": round(s.level_db, 1), "relative_db": round(s.relative_db, 1),
                 "vocal_fraction": round(s.vocal_fraction, 2)}
                for s in self.sections
            ],
            "vocal_fraction": round(v.fraction, 3),
            "pitch_hz": _finite_or_none([v.pitch_low_hz, v.pitch_median_hz, v.pitch_high_hz]),
            "pitch_notes": [note_name(v.pitch_low_hz), note_name(v.pitch_median_hz), note_name(v.pitch_high_hz)],
            "voice_to_noise_db": _finite_or_none([v.voice_to_noise_db])[0],
            "loudness_lufs": _finite_or_none([self.loudness_lufs])[0],
            "true_peak_dbtp": _finite_or_none([self.true_peak_db])[0],
            "sample_peak_dbfs": _finite_or_none([self.sample_peak_db])[0],
            "bands_db": {name: (round(level, 1) if math.isfinite(level) else None)
                         for name, level in self.bands.levels.items()},
            "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
            "timings_s": {k: round(t, 4) for k, t in self.timings.items()},
        }


def _finite_or_none(values):
    return [round(float(v), 2) if v is not None and math.isfinite(v) else None for v in values]


def guess_content(rhythm: Rhythm, voice: VoiceAnalysis) -> str:
    """``music`` when there is a clear pulse and enough vocal activity, ``speech`` when there is
    no clear pulse but a lot of voice, otherwise ``instrumental``."""
    if rhythm.pulse_clarity >= MUSIC_PULSE and rhythm.beats:
        return "music" if voice.fraction >= SINGING_FRACTION else "instrumental"
    return "speech" if voice.fraction >= SPEECH_FRACTION else "instrumental"


def check_content(content: str | None) -> str | None:
    """``None`` (guess it) or one of :data:`CONTENTS`; anything else is a ``ValueError``."""
    if content in (None, "", "auto"):
        return None
    if content not in CONTENTS:
        raise ValueError(f"content must be one of {', '.join(CONTENTS)} or auto, got {content!r}")
    return content


def analyse_track(audio: dict, content: str | None = None, progress=None) -> AudioAnalysis:
    """Analyse batch item 0 of an AUDIO value (see the module docstring), fed in chunks."""
    forced = check_content(content)
    waveform, rate = check_audio(audio)
    clock = time.perf_counter()
    spec = compute_spectrogram(waveform[0].detach(), rate, progress)
    return analyse_features(spec, rate, waveform.shape[1], forced, waveform.shape[0],
                            {"spectrogram": time.perf_counter() - clock}, progress)


def analyse_file(path, content: str | None = None, progress=None) -> AudioAnalysis:
    """Analyse the first audio stream of a file, decoded and analysed chunk by chunk: the memory
    used does not grow with the track's length beyond a few frame features."""
    from .features import FeatureBuilder
    from .progress import report
    from .stream import iter_file_chunks, probe_audio

    forced = check_content(content)
    clock = time.perf_counter()
    info = probe_audio(path)
    builder = None
    for chunk in iter_file_chunks(path):
        if builder is None:
            builder = FeatureBuilder(info.sample_rate, chunk.shape[0])
            _check_rate(info.sample_rate, chunk.shape[0], path)
        if not np.isfinite(chunk).all():
            raise ValueError(f"{path} contains NaN or infinite samples; re-decode or clean the file")
        builder.feed(chunk)
        report(progress, "decoding and analysing", builder.samples / max(1, info.samples))
    if builder is None or builder.samples == 0:
        raise ValueError(f"{path} contains no audio samples")
    spec = builder.finish()
    return analyse_features(spec, info.sample_rate, builder.channels, forced, 1,
                            {"spectrogram": time.perf_counter() - clock}, progress)


def _check_rate(rate: int, channels: int, path) -> None:
    check_audio({"waveform": torch.zeros(1, channels, 1), "sample_rate": rate}, str(path))


def analyse_features(spec: Spectrogram, rate: int, channels: int, forced: str | None, batch_size: int = 1,
                     timings: dict[str, float] | None = None, progress=None) -> AudioAnalysis:
    """Stages 2-6 of the module docstring on the features of one track."""
    from .progress import report

    timings = dict(timings or {})
    clock = time.perf_counter()

    def lap(name: str, done: float) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now
        report(progress, name, done)

    rhythm = analyse_rhythm(spec.onset, spec.frame_seconds)
    lap("rhythm", 0.25)
    voice = analyse_voice(spec)
    lap("voice", 0.5)
    sections = find_sections(spec)
    attach_vocals(sections, voice.active, spec.frame_seconds)
    lap("sections", 0.75)
    lufs = spec.loudness_lufs()
    sample_peak = 20 * math.log10(spec.sample_peak) if spec.sample_peak > 0 else -math.inf
    true_peak = spec.true_peak_db
    lap("loudness", 0.85)
    chosen = forced or guess_content(rhythm, voice)
    label_by_content(sections, chosen)
    bands = band_levels(spec, voice.active if chosen == "speech" else None)
    warnings = check_track(rate, chosen, bands, voice, lufs, true_peak, spec.clipped_runs, spec.duration)
    lap("balance", 1.0)
    timings["total"] = sum(timings.values())
    return AudioAnalysis(
        duration=spec.duration, sample_rate=rate, channels=channels, content=chosen,
        content_guessed=forced is None, rhythm=rhythm, sections=sections, voice=voice,
        loudness_lufs=lufs, true_peak_db=true_peak, sample_peak_db=sample_peak, bands=bands,
        warnings=warnings, spectrogram=spec, batch_size=batch_size, timings=timings,
    )


def format_report(analysis: AudioAnalysis) -> str:
    """The plain-text report: facts first, then the warnings."""
    a = analysis
    v = a.voice
    lines = [
        f"Audio: {_clock(a.duration)} ({a.duration:.2f} s), {a.sample_rate} Hz, {a.channels} channel"
        f"{'s' if a.channels != 1 else ''}" + (f" (batch item 1 of {a.batch_size})" if a.batch_size > 1 else ""),
        f"Content: {a.content}" + (" (guessed; set --content / content to be sure)" if a.content_guessed else ""),
    ]
    if a.rhythm.tempo_bpm > 0:
        lines.append(f"Tempo: {a.rhythm.tempo_bpm:.1f} BPM, {len(a.rhythm.beats)} beats, pulse clarity "
                     f"{a.rhythm.pulse_clarity:.2f}")
    else:
        lines.append(f"Tempo: no steady beat (pulse clarity {a.rhythm.pulse_clarity:.2f})")
    lines.append(f"Loudness: {_num(a.loudness_lufs, 'LUFS')} integrated, true peak {_num(a.true_peak_db, 'dBTP')}, "
                 f"sample peak {_num(a.sample_peak_db, 'dBFS')}")
    if v.fraction > 0 and math.isfinite(v.pitch_median_hz):
        lines.append(
            f"Voice: active {100 * v.fraction:.0f}% of the time, pitch {v.pitch_low_hz:.0f}-{v.pitch_high_hz:.0f} Hz "
            f"({note_name(v.pitch_low_hz)}-{note_name(v.pitch_high_hz)}, median {note_name(v.pitch_median_hz)})"
            + (f", voice-to-noise {_num(v.voice_to_noise_db, 'dB')}" if not math.isnan(v.voice_to_noise_db) else "")
        )
    else:
        lines.append("Voice: no vocal activity found")
    lines.append("Bands (dB below the loudest): " + ", ".join(
        f"{name} {_num(level, '')}".rstrip() for name, level in a.bands.relative().items()))
    lines.append("Sections:")
    for s in a.sections:
        lines.append(f"  {_clock(s.start):>7} - {_clock(s.end):<7} {s.label:<7} {s.relative_db:6.1f} dB, "
                     f"voice {100 * s.vocal_fraction:3.0f}%")
    if a.warnings:
        lines.append("Warnings:")
        lines.extend(f"  - {w.message}" for w in a.warnings)
    else:
        lines.append("Warnings: none")
    return "\n".join(lines)


def _num(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return ("-inf " if value < 0 else "inf ") + unit
    return f"{value:.1f} {unit}".rstrip()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{secs:05.2f}"

