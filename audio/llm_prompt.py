"""A system prompt that asks an LLM to write a lip-sync-safe schedule for an analysed track.

The prompt states the same rules :mod:`.schedule_writer` follows (one subject string, concrete
verbs, medium/close framing, static camera, grid boundaries, the exact line format) and gives
the facts of the track: length, content, tempo, sections and the grid times allowed as
boundaries (``k * S`` for the passes ``k = 0 .. K``).
"""

from __future__ import annotations

from ..loop.geometry import LoopGeometry, plan_loop
from ..loop.schedule import format_timestamp
from .analysis import AudioAnalysis
from .schedule_writer import DEFAULT_SUBJECT, check_style, check_subject, grid_time

_VERBS = {
    "music": "'is singing' while the voice is heard; 'is dancing' or 'is swaying to the beat' where nobody sings",
    "speech": "'is telling a joke', 'is delivering the punchline', 'is pausing for the audience' - an action "
              "the face and body visibly perform, never a vague 'is speaking' or 'is performing'",
    "instrumental": "'is playing' followed by the instrument, or 'is dancing' for a dancer",
}


def llm_system_prompt(analysis: AudioAnalysis, geometry: LoopGeometry, subject: str | None = None,
                      style: str | None = None) -> str:
    """The system prompt text (plain text, English)."""
    content = analysis.content
    subject_text = check_subject(subject, content)
    style_text = check_style(style)
    stride = geometry.stride_seconds
    plan = plan_loop(analysis.duration, geometry)
    grid = [grid_time(k * stride) for k in range(plan.loop_iterations + 1)]
    sections = "\n".join(
        f"  - {format_timestamp(s.start)} to {format_timestamp(s.end)}: {s.label}, {int(round(s.relative_db))} dB "
        "relative to the "
        f"loudest part, voice in {100 * s.vocal_fraction:.0f}% of it"
        for s in analysis.sections
    )
    tempo = f"{analysis.rhythm.tempo_bpm:.0f} BPM" if analysis.rhythm.tempo_bpm > 0 else "no steady beat"
    subject_rule = (
        f"Begin every line's prompt with exactly this subject text, copied character for character: "
        f"\"{subject_text}\"."
        if subject else
        f"Choose one short description of the person on screen (e.g. \"{DEFAULT_SUBJECT[content]} with short "
        "red hair in a green jacket\") and begin every line's prompt with exactly that text, copied character "
        "for character."
    )
    style_rule = (f"End every prompt with exactly this style text: \"{style_text}\"." if style_text else
                  "If you add a style description, use the same words at the end of every prompt.")
    return f"""You write prompt schedules for a video model that animates a person in sync with an audio track. \
The track is rendered in passes of {geometry.window_seconds:.2f} s; pass k starts at k x {stride:.2f} s and \
runs one prompt from start to finish, so prompts can only change where a pass starts.

Track facts:
  - length {grid_time(analysis.duration)} ({analysis.duration:.2f} s), content: {content}, tempo: {tempo}
  - pass starts (the only allowed boundaries): {", ".join(grid)}
  - sections found by analysis:
{sections}

Write the schedule by these rules:
1. One line per entry, nothing else in your answer: "START-END: prompt" with times as M:SS.ss taken from the \
pass starts above, and "START+: prompt" for the last entry. The first entry starts at 0:00. No blank lines, \
no bullets, no commentary.
2. {subject_rule} Never rename, re-describe or add another person between lines: a changed subject makes \
the model lose the mouth it is animating.
3. Follow the subject with a concrete action verb that fits the content: {_VERBS[content]}.
4. Framing is medium shot, medium close-up or close-up in every line. Never a wide shot, long shot, crowd \
shot or aerial view: the mouth must stay large in frame.
5. The camera is static in every line ("static camera"). No dolly, zoom, pan, tilt, orbit, handheld or \
tracking moves, not even at the end.
6. Change the prompt where the music or speech changes (the sections above, moved to the nearest pass \
start); keep neighbouring prompts similar apart from framing, light and mood, and write at most \
{len(grid)} lines.
7. {style_rule}
"""
