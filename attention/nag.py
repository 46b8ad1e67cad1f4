"""Normalized attention guidance (NAG): the formula and its parameters.

For one cross-attention call, ``z+`` is the attention output for the prompt and ``z-`` the
output for the negative prompt, both ``[..., tokens, channels]`` (channels = heads x head size,
before the output projection). Per token, with L1 norms over the channels:

    g = s * z+ - (s - 1) * z-
    r = ||g||_1 / ||z+||_1
    g <- g * tau / r            where r > tau   (the guided output may not grow beyond tau x z+)
    out = alpha * g + (1 - alpha) * z+

``s`` = ``scale`` (1 = no guidance), ``alpha`` = mix of guided and plain output, ``tau`` = the
largest allowed norm ratio. A token whose ``||z+||_1`` is 0 keeps ``z+`` times ``1 - alpha``
(its ratio is infinite, so g is scaled to 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

PRESETS = {
    "kjnodes": (11.0, 0.25, 2.5),
    "tuned_1080p": (3.0, 0.2, 2.0),
    "distilled_1.1_low": (3.0, 0.25, 2.5),
    "distilled_1.1_high": (7.0, 0.25, 2.5),
}
"""Community presets (scale, alpha, tau). ``kjnodes``: KJNodes' LTX2_NAG defaults, the usual
start for distilled LTX-2.3 at CFG 1; ``tuned_1080p``: a gentler setting tuned for 1080p
renders; the distilled 1.1 model was run with scales 3 to 7 (alpha and tau left at the KJNodes
values). See docs/attention.md."""


@dataclass(frozen=True)
class NagParams:
    """NAG strength: ``scale`` >= 1, ``0 <= alpha <= 1``, ``tau`` > 0 (all finite)."""

    scale: float = 11.0
    alpha: float = 0.25
    tau: float = 2.5

    def __post_init__(self):
        for name in ("scale", "alpha", "tau"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"nag_{name}={value!r} must be a finite number")
        if self.scale < 1.0:
            raise ValueError(f"nag_scale={self.scale} must be >= 1 (1 = no guidance; the usual range is 3 to 11)")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"nag_alpha={self.alpha} must be within 0..1 (0 = no guidance; usual 0.2 to 0.25)")
        if self.tau <= 0.0:
            raise ValueError(f"nag_tau={self.tau} must be > 0 (usual 2.0 to 2.5)")

    @property
    def is_identity(self) -> bool:
        """True when the output always equals ``z+`` (scale 1 or alpha 0)."""
        return self.scale == 1.0 or self.alpha == 0.0


def nag_combine(z_pos: torch.Tensor, z_neg: torch.Tensor, scale: float, alpha: float, tau: float) -> torch.Tensor:
    """NAG output for attention outputs ``z_pos`` / ``z_neg`` of the same shape (see module doc).

    The norms and the rescale factor are computed in float32 whatever the input dtype; the
    result has ``z_pos``'s dtype. Neither input is modified.
    """
    if z_pos.shape != z_neg.shape:
        raise ValueError(f"z_pos {tuple(z_pos.shape)} and z_neg {tuple(z_neg.shape)} must have the same shape")
    z_neg = z_neg.to(z_pos.dtype)
    g = z_pos * scale - z_neg * (scale - 1.0)
    n_pos = torch.linalg.vector_norm(z_pos, ord=1, dim=-1, keepdim=True, dtype=torch.float32)
    n_g = torch.linalg.vector_norm(g, ord=1, dim=-1, keepdim=True, dtype=torch.float32)
    limit = n_pos * tau
    factor = torch.where(n_g > limit, limit / n_g.clamp_min(torch.finfo(torch.float32).tiny), torch.ones_like(n_g))
    return g.mul_((factor * alpha).to(g.dtype)).add_(z_pos, alpha=1.0 - alpha)
