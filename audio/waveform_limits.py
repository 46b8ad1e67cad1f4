"""Limits of a supported AUDIO value (no torch: the CLI checks probed files against them)."""

MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 8
