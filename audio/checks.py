"""Spectral balance in the bands the LTX audio VAE hears, and plain-language warnings.

LTX-2's audio VAE works on 16 kHz mel spectrograms, so it hears up to 8 kHz. Mouth shapes for
vowels come from the low and middle bands; consonants (s, sh, t, k, f) from 2-8 kHz. Band level
``B_b = 10 log10(mean_t sum_{k in b} P_kt)`` (dB, relative to the loudest band) over the frames
that count: frames within ``ACTIVE_DB`` of the 95th-percentile frame level (and, for speech, the
frames with vocal activity).

Thresholds (dB): sibilance (4-8 kHz) more than ``DULL_SIBILANCE_DB`` = 20 below the loudest band,
presence (2-4 kHz) more than ``WEAK_PRESENCE_DB`` = 15 below, bass (60-300 Hz) loudest and more
than ``BASS_HEAVY_DB`` = 6 above 300-800 Hz, voice-to-noise below ``MIN_VOICE_TO_NOISE_DB`` = 20
(speech), integrated loudness below -30 or above -9 LUFS, true peak above -1 dBTP, hard clipping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .features import Spectrogram
from .pitch import VoiceAnalysis

BANDS = {
    "bass 60-300 Hz": (60.0, 300.0),
    "body 300-800 Hz": (300.0, 800.0),
    "mid 0.8-2 kHz": (800.0, 2000.0),
    "presence 2-4 kHz": (2000.0, 4000.0),
    "sibilance 4-8 kHz": (4000.0, 8000.0),
}
BASS, BODY, MID, PRESENCE, SIBILANCE = BANDS
ACTIVE_DB = 40.0
DULL_SIBILANCE_DB = 20.0
WEAK_PRESENCE_DB = 15.0
BASS_HEAVY_DB = 6.0
MIN_VOICE_TO_NOISE_DB = 20.0
QUIET_LUFS = -30.0
LOUD_LUFS = -9.0
SILENT_LUFS = -70.0
MAX_TRUE_PEAK_DB = -1.0
MIN_RATE_FOR_SIBILANCE = 16_000
FEW_VOCALS = 0.1


@dataclass
class BandLevels:
    """Absolute band levels in dB (power summed over each band's bins, averaged over frames)."""

    levels: dict[str, float]

    def loudest(self) -> str:
        return max(self.levels, key=lambda name: self.levels[name])

    def relative(self) -> dict[str, float]:
        """Each band in dB relative to the loudest (0 for the loudest, negative below)."""
        top = self.levels[self.loudest()]
        if not math.isfinite(top):
            return {name: -math.inf for name in self.levels}
        return {name: level - top for name, level in self.levels.items()}


@dataclass
class Warning_:
    """A finding with a stable ``code`` and a ``message`` that says what it means and what to do."""

    code: str
    message: str


def band_levels(spec: Spectrogram, frames: np.ndarray | None = None) -> BandLevels:
    """Band levels over the active frames (see the module docstring); ``frames`` narrows them further."""
    level = spec.frame_db()
    active = level > float(np.percentile(level, 95)) - ACTIVE_DB
    if frames is not None and (active & frames).any():
        active = active & frames
    if not active.any():
        active = np.ones_like(active)
    out = {}
    for name in BANDS:
        energy = float(spec.band_power[name][active].mean())
        out[name] = 10 * math.log10(energy) if energy > 0 else -math.inf
    return BandLevels(out)


def check_track(rate: int, content: str, bands: BandLevels, voice: VoiceAnalysis, lufs: float,
                true_peak: float, clipped_runs: int, duration: float = math.inf) -> list[Warning_]:
    """The warnings of a track, most harmful to lip sync first."""
    found: list[Warning_] = []
    if duration < 0.4 and math.isfinite(true_peak):
        return [Warning_("too_short", f"The clip is {duration:.2f} s long, shorter than one 0.4 s loudness block: "
                         "too short to measure or to lip-sync. Use the whole track.")]
    if not math.isfinite(lufs) or lufs < SILENT_LUFS:
        return [Warning_("silent", "The track is silent or nearly so: there is nothing for the mouth to follow.")]
    if rate < MIN_RATE_FOR_SIBILANCE:
        found.append(Warning_(
            "low_sample_rate",
            f"Sample rate {rate} Hz holds nothing above {rate / 2000:g} kHz, so part of the 4-8 kHz band that "
            "shapes consonants is missing. Use a 44.1 or 48 kHz source.",
        ))
    rel = bands.relative()
    loudest = bands.loudest()
    if rel[SIBILANCE] < -DULL_SIBILANCE_DB:
        found.append(Warning_(
            "dull_sibilance",
            f"Sibilance (4-8 kHz) is {-rel[SIBILANCE]:.0f} dB below the loudest band ({loudest}); more than "
            f"{DULL_SIBILANCE_DB:.0f} dB means s, sh, t and k barely reach the model, so those mouth shapes get "
            "guessed. Run `ltx-audioloop preprocess` / AudioPreprocessForLTX (6.5 kHz lift) or use a brighter source.",
        ))
    if rel[PRESENCE] < -WEAK_PRESENCE_DB:
        found.append(Warning_(
            "weak_presence",
            f"Presence (2-4 kHz) is {-rel[PRESENCE]:.0f} dB below the loudest band ({loudest}); words lose their "
            "edges and consonant mouth shapes blur. The preprocessing's 3 kHz lift helps.",
        ))
    if loudest == BASS and rel[BODY] < -BASS_HEAVY_DB:
        found.append(Warning_(
            "bass_heavy",
            f"Bass (60-300 Hz) is {-rel[BODY]:.0f} dB above the 300-800 Hz body of the voice: the low end dominates "
            "and masks the bands that carry speech. The preprocessing's 80 Hz high-pass and 200/400 Hz cuts reduce it.",
        ))
    vtn = voice.voice_to_noise_db
    if content == "speech" and math.isfinite(vtn) and vtn < MIN_VOICE_TO_NOISE_DB:
        found.append(Warning_(
            "low_voice_to_noise",
            f"Voice-to-noise is {vtn:.0f} dB (below {MIN_VOICE_TO_NOISE_DB:.0f} dB): noise, room or crowd sound "
            "in the pauses competes with quiet consonants. Isolate the voice (a vocal-separation model) or use a "
            "cleaner recording.",
        ))
    if content in ("music", "speech") and voice.fraction < FEW_VOCALS:
        found.append(Warning_(
            "few_vocals",
            f"Vocal activity found in only {100 * voice.fraction:.0f}% of the track: there is little for the "
            "mouth to follow. If nobody sings or speaks, use content 'instrumental' (playing / dancing prompts).",
        ))
    if clipped_runs > 0:
        found.append(Warning_(
            "clipping",
            f"{clipped_runs} hard-clipped passage{'s' if clipped_runs != 1 else ''} (samples stuck at full scale): "
            "the distortion smears consonants. Use an unclipped master if you have one.",
        ))
    if math.isfinite(true_peak) and true_peak > MAX_TRUE_PEAK_DB:
        found.append(Warning_(
            "true_peak",
            f"True peak {true_peak:.1f} dBTP (above {MAX_TRUE_PEAK_DB:.0f}): peaks between samples can clip when "
            "the audio is resampled to the model's 16 kHz or re-encoded. Preprocessing applies a -2 dBTP ceiling.",
        ))
    if lufs < QUIET_LUFS:
        found.append(Warning_(
            "quiet",
            f"Loudness {lufs:.1f} LUFS is very low: quiet consonants sink toward the noise floor. Preprocessing "
            "normalises to -16 LUFS.",
        ))
    elif lufs > LOUD_LUFS:
        found.append(Warning_(
            "loud",
            f"Loudness {lufs:.1f} LUFS is very high (heavily limited master): little dynamics for the mouth to "
            "follow between syllables. Preprocessing brings it to -16 LUFS.",
        ))
    return found
