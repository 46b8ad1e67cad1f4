"""Audio nodes: preprocessing for lip sync, track analysis with a timeline IMAGE, voice and pitch."""

from __future__ import annotations

import math

from ..audio.preprocess_settings import PreprocessSettings
from .common import CATEGORY_AUDIO, fps_input, image_to_tensor, overlap_seconds_input, window_seconds_input
from .spec import Combo, Float, NodeSpec, Output, Socket, String, comfy_node

_DEFAULTS = PreprocessSettings()


def _setting(name: str, low: float, high: float, step: float, tooltip: str, optional: bool = False):
    """One preprocessing setting; its default is :class:`PreprocessSettings`' value of the same name."""
    return Float(name, default=getattr(_DEFAULTS, name), min=low, max=high, step=step, tooltip=tooltip,
                 optional=optional)


@comfy_node(NodeSpec(
    id="AudioPreprocessForLTX",
    display_name="Audio Preprocess for LTX (lip sync EQ + loudness)",
    category=CATEGORY_AUDIO,
    description=(
        "Prepares a track for lip sync: high-pass 80 Hz, 200 Hz -3 dB, 400 Hz -2 dB, 3 kHz +4 dB, 6.5 kHz +3 dB, "
        "then a gain to -16 LUFS (BS.1770) with a look-ahead true-peak limiter at -2 dBTP, so the target is reached "
        "on peaky material too; the report gives the gain, the limiting and the measured result. Any channel count "
        "and sample rate; each batch item gets its own gain; silence stays silence."
    ),
    inputs=(
        Socket("audio", "AUDIO", tooltip="The track to prepare (wire it before the LTX audio VAE encode)."),
        _setting("highpass_hz", 0.0, 1000.0, 1.0, "High-pass cutoff in Hz (rumble); 0 = off."),
        _setting("cut1_hz", 20.0, 20000.0, 1.0, "First cut (boom) centre in Hz."),
        _setting("cut1_db", -24.0, 24.0, 0.5, "First cut gain in dB."),
        _setting("cut2_hz", 20.0, 20000.0, 1.0, "Second cut (box) centre in Hz."),
        _setting("cut2_db", -24.0, 24.0, 0.5, "Second cut gain in dB."),
        _setting("presence_hz", 20.0, 20000.0, 10.0, "Presence lift centre in Hz."),
        _setting("presence_db", -24.0, 24.0, 0.5, "Presence lift gain in dB."),
        _setting("sibilance_hz", 20.0, 20000.0, 10.0, "Sibilance lift centre in Hz."),
        _setting("sibilance_db", -24.0, 24.0, 0.5, "Sibilance lift gain in dB."),
        _setting("target_lufs", -60.0, 0.0, 0.5, "Integrated loudness target in LUFS."),
        _setting("ceiling_dbtp", -20.0, 0.0, 0.1, "True-peak ceiling in dBTP (4x oversampled)."),
        _setting("q", 0.1, 10.0, 0.05, "Width of the four bells (Q); 1.0 is broad and musical.", optional=True),
        _setting("highpass_q", 0.1, 10.0, 0.01, "Q of the high-pass (0.707 = Butterworth).", optional=True),
        _setting("max_gain_db", 0.0, 60.0, 1.0,
                 "Largest gain applied, so near-silent input is not blown up into noise.", optional=True),
    ),
    outputs=(
        Output("audio", "AUDIO", "The processed audio: same shape and sample rate."),
        Output("report", "STRING", "Loudness and true peak before and after, and the gain applied."),
    ),
))
class AudioPreprocessForLTX:
    """EQ toward the bands LTX-2 reads consonants from, then loudness to -16 LUFS with a -2 dBTP true-peak limiter."""

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


@comfy_node(NodeSpec(
    id="AudioAnalyzeForLTX",
    display_name="Audio Analyze for LTX (report, timeline, schedule)",
    category=CATEGORY_AUDIO,
    description=(
        "Analyses the track (tempo, beats, sections, voice and pitch, loudness, spectral balance in the bands LTX-2 "
        "hears) and warns in plain words about what hurts lip sync. Writes a timestamp schedule whose boundaries "
        "sit on the loop's stride grid, with one subject string, a fitting action verb, medium/close framing and a "
        "static camera: wire it into TimestampPromptSchedule(BatchEncode). Batch item 0 is analysed."
    ),
    inputs=(
        Socket("audio", "AUDIO", tooltip="The whole track."),
        window_seconds_input("Loop window in seconds (as on AudioLoopController)."),
        overlap_seconds_input("Loop overlap in seconds (as on AudioLoopController)."),
        fps_input(),
        String("subject", default="", multiline=False,
               tooltip="Who is on screen; written identically into every entry. "
               "Empty = 'the singer' / 'the comedian' / 'the musician'."),
        Combo("content", ("auto", "music", "speech", "instrumental"), default="auto",
              tooltip="What the track is: picks verbs and framing."),
        String("style", default="", multiline=False, optional=True,
               tooltip="Style text appended identically to every entry."),
    ),
    outputs=(
        Output("report", "STRING", "Plain-text report with the warnings."),
        Output("timeline", "IMAGE",
               "Timeline picture (waveform, sections, beats, voice, loop passes): wire to PreviewImage."),
        Output("schedule", "STRING",
               "Schedule text on the stride grid: wire to a TimestampPromptSchedule node's schedule."),
        Output("tempo_bpm", "FLOAT", "Tempo in BPM (0 = no steady beat)."),
        Output("loudness_lufs", "FLOAT", "Integrated loudness in LUFS (-100 for silence)."),
        Output("stride_seconds", "FLOAT", "Effective stride in seconds used for the grid."),
    ),
))
class AudioAnalyzeForLTX:
    """Track analysis for lip sync: report, timeline picture and a schedule on the loop grid."""

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


@comfy_node(NodeSpec(
    id="AudioVocalPitch",
    display_name="Audio Vocal Activity and Pitch",
    category=CATEGORY_AUDIO,
    description=(
        "Finds where a voice (or another pitched line in the voice range, 65-1100 Hz) sounds and its pitch range. "
        "Channels are averaged; batch items are measured one by one. The numbers are those of batch item 0; the "
        "report lists every item."
    ),
    inputs=(Socket("audio", "AUDIO", tooltip="Audio to measure (any channels, any batch size)."),),
    outputs=(
        Output("report", "STRING",
               "Vocal activity, pitch range (Hz and note names) and voice-to-noise of each batch item."),
        Output("vocal_fraction", "FLOAT", "Share of non-silent time with vocal activity (0..1), batch item 0."),
        Output("pitch_low_hz", "FLOAT", "5th-percentile pitch in Hz (0 = none), batch item 0."),
        Output("pitch_median_hz", "FLOAT", "Median pitch in Hz (0 = none), batch item 0."),
        Output("pitch_high_hz", "FLOAT", "95th-percentile pitch in Hz (0 = none), batch item 0."),
    ),
))
class AudioVocalPitch:
    """Vocal activity and pitch range of every batch item (channels downmixed, batch kept)."""

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
