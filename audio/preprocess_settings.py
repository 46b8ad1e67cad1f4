"""Settings of the preprocess chain, importable without torch (the CLI builds its options from them)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PreprocessSettings:
    """Parameters of :func:`preprocess_audio` (Hz, dB, LUFS, dBTP)."""

    highpass_hz: float = 80.0
    highpass_q: float = 0.707
    cut1_hz: float = 200.0
    cut1_db: float = -3.0
    cut2_hz: float = 400.0
    cut2_db: float = -2.0
    presence_hz: float = 3000.0
    presence_db: float = 4.0
    sibilance_hz: float = 6500.0
    sibilance_db: float = 3.0
    q: float = 1.0
    target_lufs: float = -16.0
    ceiling_dbtp: float = -2.0
    max_gain_db: float = 30.0

    def bells(self) -> list[tuple[float, float]]:
        """``(centre_hz, gain_db)`` of the four bells, in chain order."""
        return [(self.cut1_hz, self.cut1_db), (self.cut2_hz, self.cut2_db),
                (self.presence_hz, self.presence_db), (self.sibilance_hz, self.sibilance_db)]

    def validate(self) -> "PreprocessSettings":
        """The settings, or a ``ValueError`` naming the first bad field."""
        values = asdict(self)
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.highpass_hz < 0:
            raise ValueError(f"highpass_hz must be >= 0 (0 = off), got {self.highpass_hz}")
        for name in ("cut1_hz", "cut2_hz", "presence_hz", "sibilance_hz"):
            if values[name] <= 0:
                raise ValueError(f"{name} must be > 0 Hz, got {values[name]}")
        for name in ("highpass_q", "q"):
            if not 0.1 <= values[name] <= 10:
                raise ValueError(f"{name} must be within 0.1..10, got {values[name]}")
        for name in ("cut1_db", "cut2_db", "presence_db", "sibilance_db"):
            if abs(values[name]) > 24:
                raise ValueError(f"{name} must be within -24..24 dB, got {values[name]}")
        if not -60 <= self.target_lufs <= 0:
            raise ValueError(f"target_lufs must be within -60..0 LUFS (-16 is usual), got {self.target_lufs}")
        if not -20 <= self.ceiling_dbtp <= 0:
            raise ValueError(f"ceiling_dbtp must be within -20..0 dBTP (-2 is usual), got {self.ceiling_dbtp}")
        if not 0 <= self.max_gain_db <= 60:
            raise ValueError(f"max_gain_db must be within 0..60 dB, got {self.max_gain_db}")
        return self
