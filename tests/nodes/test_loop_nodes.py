"""The loop nodes run inside a simulation of ComfyUI's native TensorLoopOpen/TensorLoopClose.

The simulation follows ComfyUI's documented behaviour: ``current_iteration`` is 1-based, the body
always runs at least once (also with 0 iterations, whose output is then discarded), and the stop
input is read after the body ran.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.geometry import frames_to_latents
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS

Controller = NODE_CLASS_MAPPINGS["AudioLoopController"]
Planner = NODE_CLASS_MAPPINGS["AudioLoopPlanner"]
Extract = NODE_CLASS_MAPPINGS["LatentContextExtract"]
Trim = NODE_CLASS_MAPPINGS["LatentOverlapTrim"]
Duration = NODE_CLASS_MAPPINGS["AudioDuration"]
Join = NODE_CLASS_MAPPINGS["AudioLoopJoinLatents"]


def make_audio(seconds: float, rate: int = 16_000, channels: int = 2) -> dict:
    n = max(1, round(seconds * rate))
    t = torch.arange(n) / rate
    wave = 0.3 * torch.sin(2 * math.pi * 220 * t).repeat(channels, 1).unsqueeze(0)
    return {"waveform": wave, "sample_rate": rate}


def trim_audio(audio: dict, start: float, duration: float) -> torch.Tensor:
    """ComfyUI's TrimAudioDuration: samples [start, start + duration) clamped to the track."""
    rate = audio["sample_rate"]
    total = audio["waveform"].shape[-1]
    begin = min(int(start * rate), total)
    end = min(begin + int(duration * rate), total)
    return audio["waveform"][..., begin:end]


def fake_sampler(window_latents: int) -> dict:
    """A sampler output of the right LTX shape (small spatial size to keep the test fast)."""
    return {"samples": torch.randn(1, 128, window_latents, 2, 3), "noise_mask": torch.ones(1, 1, window_latents, 2, 3)}


def run_native_loop(audio: dict, window: float, overlap: float, fps: int):
    """Initial render plus the loop as TensorLoopOpen/Close run it; returns (latent frames, body runs)."""
    summary, total_iterations, stride, duration, image, init_frames, init_seconds, rendered_frames = Planner().execute(
        audio, window, overlap, fps, 0, ""
    )
    controller = Controller()
    initial = controller.execute(0, window, overlap, audio, 7, fps)
    assert initial[8] == init_frames and initial[9] == pytest.approx(init_seconds)
    assert trim_audio(audio, initial[0], initial[9]).shape[-1] > 0
    previous = fake_sampler(frames_to_latents(init_frames))
    initial_render = previous
    accumulated = []
    remaining, iteration, runs, discarded = total_iterations, 1, 0, total_iterations == 0
    while True:
        out = controller.execute(iteration, window, overlap, audio, 7, fps)
        (
            start,
            should_stop,
            _,
            seed,
            stride_out,
            context_frames,
            overlap_latents,
            _,
            frames,
            seconds,
            latents,
            new,
            total,
            _,
        ) = out
        assert stride_out == stride and total == total_iterations
        assert 0 <= seed < 2**64
        # every pass gets real audio: at least its context's duration is left after its start
        audio_slice = trim_audio(audio, start, seconds)
        rate, samples = audio["sample_rate"], audio["waveform"].shape[-1]
        assert audio_slice.shape[-1] >= min(samples, int(context_frames / fps * rate))
        assert audio_slice.shape[-1] > 0
        context = Extract().execute(previous, overlap_latents)[0]
        assert "noise_mask" not in context
        sampled = fake_sampler(latents)
        sampled["samples"][:, :, :overlap_latents] = context["samples"]
        trimmed = Trim().execute(sampled, overlap_latents)[0]
        assert trimmed["samples"].shape[2] == new
        runs += 1
        if not discarded:
            accumulated.append(trimmed["samples"])
        previous = sampled
        remaining -= 1
        if should_stop or remaining <= 0:
            break
        iteration += 1
    # TensorLoopClose: the accumulation, or its initial_value itself when told to run 0 iterations
    loop_output = {"samples": torch.cat(accumulated, dim=2)} if accumulated else initial_render
    joined = Join().execute(initial_render, loop_output, total_iterations, rendered_frames)[0]
    return joined["samples"], runs, total_iterations, duration


@given(
    seconds=st.floats(min_value=0.3, max_value=400),
    overlap=st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0]),
    fps=st.sampled_from([24, 25, 30]),
)
@settings(max_examples=40, deadline=None)
def test_loop_renders_the_audio_length_within_one_latent_frame(seconds, overlap, fps):
    audio = make_audio(seconds, rate=8_000, channels=1)
    latent, runs, total_iterations, duration = run_native_loop(audio, 19.88, overlap, fps)
    rendered_frames = 8 * (latent.shape[2] - 1) + 1
    rendered = rendered_frames / fps
    assert 0 <= rendered - duration < 8 / fps + 1e-9
    assert runs == max(1, total_iterations)


def test_three_minute_song_acceptance_numbers():
    audio = make_audio(180.0)
    summary, total_iterations, stride, duration, image, *_ = Planner().execute(audio, 19.88, 2.0, 25, 0, "")
    assert stride == pytest.approx(17.92)
    assert total_iterations == 9
    assert "17.92" in summary and "180.20" in summary
    assert image.ndim == 4 and image.shape[0] == 1 and image.shape[-1] == 3
    latent, runs, _, _ = run_native_loop(audio, 19.88, 2.0, 25)
    assert abs((8 * (latent.shape[2] - 1) + 1) / 25 - 180.0) < 0.32


def test_short_audio_needs_no_loop_iteration_and_the_body_still_runs():
    audio = make_audio(6.0)
    _, total_iterations, *_ = Planner().execute(audio, 19.88, 2.0, 25, 0, "")
    assert total_iterations == 0
    latent, runs, _, _ = run_native_loop(audio, 19.88, 2.0, 25)
    assert runs == 1  # the body ran once (its output is discarded by the loop)
    assert abs((8 * (latent.shape[2] - 1) + 1) / 25 - 6.0) < 0.32


def test_final_iteration_is_sized_to_the_audio():
    audio = make_audio(100.0)
    controller = Controller()
    _, total, *_ = Planner().execute(audio, 19.88, 2.0, 25, 0, "")
    last = controller.execute(total, 19.88, 2.0, audio, 0, 25)
    assert last[1] is True and last[13] is True
    assert last[8] < 497 and (last[8] - 1) % 8 == 0
    middle = controller.execute(1, 19.88, 2.0, audio, 0, 25)
    assert middle[1] is False and middle[8] == 497


def test_extra_iteration_after_stop_is_runnable_and_flagged():
    audio = make_audio(50.0)
    out = Controller().execute(40, 19.88, 2.0, audio, 0, 25)
    assert out[1] is True and out[13] is False
    assert out[0] < 50.0


def test_iteration_seed_wraps_inside_64_bits():
    audio = make_audio(30.0)
    out = Controller().execute(3, 19.88, 2.0, audio, 2**64 - 2, 25)
    assert out[3] == 1


def test_planner_max_iterations_caps_the_count():
    audio = make_audio(180.0)
    summary, total, *_, rendered_frames = Planner().execute(audio, 19.88, 2.0, 25, 3, "")
    assert total == 3 and "max_iterations" in summary
    assert rendered_frames == 497 + 3 * 448  # what the capped loop really renders


def test_planner_with_schedule_shows_prompts_per_pass():
    audio = make_audio(60.0)
    schedule = "0:00+: verse prompt\n0:36+: chorus prompt\n"
    summary, *_ = Planner().execute(audio, 19.88, 2.0, 25, 0, schedule)
    assert "verse prompt" in summary and "chorus prompt" in summary
    assert Planner.VALIDATE_INPUTS(schedule="0:00 nonsense") != True  # noqa: E712 (error text)


@pytest.mark.parametrize(
    ("audio", "needle"),
    [
        ({"waveform": torch.zeros(1, 2, 0), "sample_rate": 44_100}, "empty"),
        ({"waveform": torch.full((1, 2, 100), float("nan")), "sample_rate": 44_100}, "NaN"),
        ({"waveform": torch.zeros(1, 9, 100), "sample_rate": 44_100}, "channels"),
        ({"waveform": torch.zeros(1, 2, 100), "sample_rate": 4_000}, "sample_rate"),
        ({"waveform": torch.zeros(1, 2, 100), "sample_rate": 384_000}, "sample_rate"),
        ({"waveform": torch.zeros(1, 2, 100), "sample_rate": 0}, "sample_rate"),
        ({"waveform": torch.zeros(1, 2, 100, dtype=torch.int16), "sample_rate": 44_100}, "floating"),
        ("not audio", "AUDIO"),
    ],
)
def test_bad_audio_is_a_clear_error(audio, needle):
    with pytest.raises(ValueError, match=needle):
        Controller().execute(1, 19.88, 2.0, audio, 0, 25)


@pytest.mark.parametrize("channels", [1, 2, 6, 8])
@pytest.mark.parametrize("rate", [8_000, 16_000, 44_100, 48_000, 96_000, 192_000])
def test_any_supported_channel_count_and_rate(channels, rate):
    audio = make_audio(2.0, rate=rate, channels=channels)
    duration, sample_rate, samples = Duration().execute(audio)
    assert duration == pytest.approx(2.0) and sample_rate == rate and samples == audio["waveform"].shape[-1]
    out = Controller().execute(0, 19.88, 2.0, audio, 0, 25)
    assert out[2] == pytest.approx(2.0)


def test_silent_audio_is_planned_like_any_other():
    audio = {"waveform": torch.zeros(1, 2, 16_000 * 30), "sample_rate": 16_000}
    _, total, *_ = Planner().execute(audio, 19.88, 2.0, 25, 0, "")
    assert total == 1


def test_overlap_not_smaller_than_window_is_rejected():
    with pytest.raises(ValueError, match="overlap_seconds"):
        Controller().execute(1, 10.0, 10.0, make_audio(30), 0, 25)


def test_audio_edited_in_place_after_a_check_is_checked_again():
    audio = make_audio(5.0)
    assert Duration().execute(audio)[0] == pytest.approx(5.0)
    audio["waveform"][0, 0, 100] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        Duration().execute(audio)


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, True])
def test_seed_outside_64_bits_is_rejected(seed):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        Controller().execute(1, 19.88, 2.0, make_audio(30.0), seed, 25)


def test_audio_nodes_accept_inference_tensors_as_comfyui_passes_them():
    with torch.inference_mode():
        audio = make_audio(40.0)
        first = Controller().execute(1, 19.88, 2.0, audio, 0, 25)
        again = Controller().execute(2, 19.88, 2.0, audio, 0, 25)
        planned = Planner().execute(audio, 19.88, 2.0, 25, 0, "")
        duration = Duration().execute(audio)
    assert first[4] == again[4] == pytest.approx(17.92)
    assert planned[1] == 2 and duration[0] == pytest.approx(40.0)
    with torch.inference_mode():
        bad = {"waveform": torch.full((1, 1, 100), float("nan")), "sample_rate": 16_000}
        with pytest.raises(ValueError, match="NaN"):
            Duration().execute(bad)


def test_join_passes_the_initial_render_through_when_the_loop_ran_no_iteration():
    initial = fake_sampler(24)
    joined = Join().execute(initial, initial, 0, 185)[0]
    assert joined["samples"] is initial["samples"] and "noise_mask" not in joined


def test_join_turns_a_miswired_loop_into_an_error():
    initial, rest = fake_sampler(63), fake_sampler(50)
    with pytest.raises(ValueError, match="plan expects"):
        Join().execute(initial, rest, 1, 1000)
    assert Join().execute(initial, rest, 1, 8 * (113 - 1) + 1)[0]["samples"].shape[2] == 113
