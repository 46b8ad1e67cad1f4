"""Audio nodes: preprocessing for lip sync, track analysis with a timeline IMAGE, voice and pitch."""

from __future__ import annotations

import math

from ..audio.preprocess_settings import PreprocessSettings
from ..loop.geometry import DEFAULT_FPS, DEFAULT_OVERLAP_SECONDS, DEFAULT_WINDOW_SECONDS
from .common import image_to_tensor

CATEGORY_AUDIO = "LTX Audio Loop/audio"

_DEFAULTS = PreprocessSettings()


def _float(default: float, low: float, high: float, step: float, tooltip: str) -> tuple:
    return ("FLOAT", {"default": default, "min": low, "max": high, "step": step, "tooltip": tooltip})


class AudioPreprocessForLTX:
    """EQ toward the bands LTX-2 reads consonants from, then loudness to -16 LUFS with a -2 dBTP true-peak limiter."""

    DESCRIPTION = (
        "Prepares a track for lip sync: high-pass 80 Hz, 200 Hz -3 dB, 400 Hz -2 dB, 3 kHz +4 dB, 6.5 kHz +3 dB, "
        "then a gain to -16 LUFS (BS.1770) with a look-ahead true-peak limiter at -2 dBTP, so the target is reached "
        "on peaky material too; the report gives the gain, the limiting and the measured result. Any channel count "
        "and sample rate; each batch item gets its own gain; silence stays silence."
    )
    CATEGORY = CATEGORY_AUDIO
    FUNCTION = "execute"
    RETURN_TYPES = ("AUDIO", "STRING")
    RETURN_NAMES = ("audio", "report")
    OUTPUT_TOOLTIPS = ("The processed audio: same shape and sample rate.",
                       "Loudness and true peak before and after, and the gain applied.")

    @classmethod
    def INPUT_TYPES(cls):
        d = _DEFAULTS
        return {
            "required": {
                "audio": ("AUDIO", {"tooltip": "The track to prepare (wire it before the LTX audio VAE encode)."}),
                "highpass_hz": _float(d.highpass_hz, 0.0, 1000.0, 1.0, "High-pass cutoff in Hz (rumble); 0 = off."),
                "cut1_hz": _float(d.cut1_hz, 20.0, 20000.0, 1.0, "First cut (boom) centre in Hz."),
                "cut1_db": _float(d.cut1_db, -24.0, 24.0, 0.5, "First cut gain in dB."),
                "cut2_hz": _float(d.cut2_hz, 20.0, 20000.0, 1.0, "Second cut (box) centre in Hz."),
                "cut2_db": _float(d.cut2_db, -24.0, 24.0, 0.5, "Second cut gain in dB."),
                "presence_hz": _float(d.presence_hz, 20.0, 20000.0, 10.0, "Presence lift centre in Hz."),
                "presence_db": _float(d.presence_db, -24.0, 24.0, 0.5, "Presence lift gain in dB."),
                "sibilance_hz": _float(d.sibilance_hz, 20.0, 20000.0, 10.0, "Sibilance lift centre in Hz."),
                "sibilance_db": _float(d.sibilance_db, -24.0, 24.0, 0.5, "Sibilance lift gain in dB."),
                "target_lufs": _float(d.target_lufs, -60.0, 0.0, 0.5, "Integrated loudness target in LUFS."),
                "ceiling_dbtp": _float(d.ceiling_dbtp, -20.0, 0.0, 0.1, "True-peak ceiling in dBTP (4x oversampled)."),
            },
            "optional": {
                "q": _float(d.q, 0.1, 10.0, 0.05, "Width of the four bells (Q); 1.0 is broad and musical."),
                "highpass_q": _float(d.highpass_q, 0.1, 10.0, 0.01, "Q of the high-pass (0.707 = Butterworth)."),
                "max_gain_db": _float(d.max_gain_db, 0.0, 60.0, 1.0,
                                      "Largest gain applied, so near-silent input is not blown up into noise."),
            },
        }

    def execute(self, audio, highpass_hz, cut1_hz, cut1_db, cut2_hz, cut2_db, presence_hz, presence_db,
                sibilance_hz, sibilance_db, target_lufs, ceiling_dbtp, q=_DEFAULTS.q,
                highpass_q=_DEFAULTS.highpass_q, max_gain_db=_DEFAULTS.max_gain_db):
        from ..audio.preprocess import format_preprocess_report, preprocess_audio

        settings = PreprocessSettings(
            highpass_hz=highpass_hz, highpass_q=highpass_q, cut1_hz=cut1_hz, cut1_db=cut1_db, cut2_hz=cut2_hz,
            cut2_db=cut2_db, presence_hz=presence_hz, presence_db=presence_db, sibilance_hz=sibilance_hz,
            sibilance_db=sibilance_db, q=q, target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp,
            max_gain_db=max_gain_db,
        )
        from ..audio.progress import comfy_progress

        processed, reports, notes = preprocess_audio(audio, settings, progress=comfy_progress())
        return (processed, format_preprocess_report(reports, settings, notes))


class AudioAnalyzeForLTX:
    """Track analysis for lip sync: report, timeline picture and a schedule on the loop grid."""

    DESCRIPTION = (
        "Analyses the track (tempo, beats, sections, voice and pitch, loudness, spectral balance in the bands LTX-2 "
        "hears) and warns in plain words about what hurts lip sync. Writes a timestamp schedule whose boundaries "
        "sit on the loop's stride grid, with one subject string, a fitting action verb, medium/close framing and a "
        "static camera: wire it into TimestampPromptSchedule(BatchEncode). Batch item 0 is analysed."
    )
    CATEGORY = CATEGORY_AUDIO
    FUNCTION = "execute"
    RETURN_TYPES = ("STRING", "IMAGE", "STRING", "FLOAT", "FLOAT", "FLOAT")
    RETURN_NAMES = ("report", "timeline", "schedule", "tempo_bpm", "loudness_lufs", "stride_seconds")
    OUTPUT_TOOLTIPS = (
        "Plain-text report with the warnings.",
        "Timeline picture (waveform, sections, beats, voice, loop passes): wire to PreviewImage.",
        "Schedule text on the stride grid: wire to a TimestampPromptSchedule node's schedule.",
        "Tempo in BPM (0 = no steady beat).",
        "Integrated loudness in LUFS (-100 for silence).",
        "Effective stride in seconds used for the grid.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "audio": ("AUDIO", {"tooltip": "The whole track."}),
                "window_seconds": _float(DEFAULT_WINDOW_SECONDS, 0.01, 3600.0, 0.01, "Loop window in seconds (as on "
                                                                    "AudioLoopController)."),
                "overlap_seconds": _float(DEFAULT_OVERLAP_SECONDS, 0.0, 3600.0, 0.01,
                                          "Loop overlap in seconds (as on AudioLoopController)."),
                "fps": ("INT", {"default": DEFAULT_FPS, "min": 1, "max": 240, "tooltip": "Video frame rate."}),
                "subject": ("STRING", {"default": "", "multiline": False,
                                       "tooltip": "Who is on screen; written identically into every entry. "
                                       "Empty = 'the singer' / 'the comedian' / 'the musician'."}),
                "content": (["auto", "music", "speech", "instrumental"],
                            {"default": "auto", "tooltip": "What the track is: picks verbs and framing."}),
            },
            "optional": {
                "style": ("STRING", {"default": "", "multiline": False,
                                     "tooltip": "Style text appended identically to every entry."}),
            },
        }

    def execute(self, audio, window_seconds, overlap_seconds, fps, subject, content, style=""):
        from ..audio.analysis import analyse_track, format_report
        from ..audio.schedule_writer import check_style, check_subject, format_schedule, schedule_from_analysis
        from ..loop.geometry import loop_geometry
        from ..pictures.analysis import render_analysis

        geometry = loop_geometry(window_seconds, overlap_seconds, fps)
        check_subject(subject or None, "music")  # bad text fails before the analysis runs
        check_style(style or None)
        from ..audio.progress import comfy_progress

        analysis = analyse_track(audio, content, comfy_progress())
        lines = schedule_from_analysis(analysis, geometry, subject or None, style or None)
        schedule = format_schedule(lines)
        image = image_to_tensor(render_analysis(analysis, audio["waveform"], int(audio["sample_rate"]), geometry))
        lufs = analysis.loudness_lufs if math.isfinite(analysis.loudness_lufs) else -100.0
        return (format_report(analysis), image, schedule, float(analysis.rhythm.tempo_bpm), float(lufs),
                float(geometry.stride_seconds))


class AudioVocalPitch:
    """Vocal activity and pitch range of every batch item (channels downmixed, batch kept)."""

    DESCRIPTION = (
        "Finds where a voice (or another pitched line in the voice range, 65-1100 Hz) sounds and its pitch range. "
        "Channels are averaged; batch items are measured one by one. The numbers are those of batch item 0; the "
        "report lists every item."
    )
    CATEGORY = CATEGORY_AUDIO
    FUNCTION = "execute"
    RETURN_TYPES = ("STRING", "FLOAT", "FLOAT", "FLOAT", "FLOAT")
    RETURN_NAMES = ("report", "vocal_fraction", "pitch_low_hz", "pitch_median_hz", "pitch_high_hz")
    OUTPUT_TOOLTIPS = (
        "Vocal activity, pitch range (Hz and note names) and voice-to-noise of each batch item.",
        "Share of non-silent time with vocal activity (0..1), batch item 0.",
        "5th-percentile pitch in Hz (0 = none), batch item 0.",
        "Median pitch in Hz (0 = none), batch item 0.",
        "95th-percentile pitch in Hz (0 = none), batch item 0.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"audio": ("AUDIO", {"tooltip": "Audio to measure (any channels, any batch size)."})}}

    def execute(self, audio):
        from ..audio.features import compute_spectrogram
        from ..audio.pitch import analyse_voice, note_name
        from ..audio.progress import comfy_progress
        from ..audio.waveform import check_audio

        waveform, rate = check_audio(audio)
        lines, first = [], None
        bar = comfy_progress()  # None outside ComfyUI
        items = waveform.shape[0]
        for i in range(items):
            mono = waveform[i].detach().to("cpu").float().mean(dim=0, keepdim=True)  # channels, not batch

            def item_progress(stage: str, fraction: float, i=i) -> None:
                if bar is not None:
                    bar(stage, (i + fraction) / items)

            voice = analyse_voice(compute_spectrogram(mono, rate, item_progress))
            first = first or voice
            prefix = f"item {i}: " if waveform.shape[0] > 1 else ""
            if math.isfinite(voice.pitch_median_hz):
                lines.append(
                    f"{prefix}voice {100 * voice.fraction:.0f}% of the time, pitch {voice.pitch_low_hz:.0f}-"
                    f"{voice.pitch_high_hz:.0f} Hz ({note_name(voice.pitch_low_hz)}-{note_name(voice.pitch_high_hz)}, "
                    f"median {note_name(voice.pitch_median_hz)})"
                    + (f", voice-to-noise {voice.voice_to_noise_db:.0f} dB"
                       if math.isfinite(voice.voice_to_noise_db) else "")
                )
            else:
                lines.append(f"{prefix}no vocal activity found")

        def hz(value: float) -> float:
            return float(value) if math.isfinite(value) else 0.0

        return ("\n".join(lines), float(first.fraction), hz(first.pitch_low_hz), hz(first.pitch_median_hz),
                hz(first.pitch_high_hz))
