"""Attention nodes for the native LTX-2 AV model: NAG at CFG 1, and SageAttention with mask routing."""

from __future__ import annotations

from ..attention.nag import NagParams
from ..attention.nag_patch import apply_nag
from ..attention.router import DEFAULT_MODE, MODES
from ..attention.sage import apply_sage_attention
from .common import CATEGORY_ATTENTION
from .spec import Boolean, Combo, Float, Int, NodeSpec, Output, Socket, comfy_node


@comfy_node(NodeSpec(
    id="AudioLoopLTX2NAG",
    display_name="LTX-2 NAG (Audio Loop)",
    category=CATEGORY_ATTENTION,
    description=(
        "NAG for ComfyUI's native LTX-2 / LTX-2.3 audio+video model: makes a negative prompt work at CFG 1 "
        "(distilled models). Patches the video and audio text cross-attention of every transformer block on a "
        "clone. The negative prompt is projected by the model itself and follows the model's device and dtype "
        "on every call, so offloading and reloading the model inside a loop cannot make it stale. "
        "Start from scale 11 / alpha 0.25 / tau 2.5; see docs/attention.md for presets."
    ),
    inputs=(
        Socket("model", "MODEL", tooltip="LTX-2 / LTX-2.3 audio+video model (native ComfyUI loader)."),
        Socket("negative", "CONDITIONING", tooltip="Negative prompt, encoded with the LTX-2 text encoder "
               "(the same CLIP Text Encode you use for the prompt)."),
        Float("nag_scale", default=11.0, min=1.0, max=100.0, step=0.01,
              tooltip="Guidance strength s in g = s*z+ - (s-1)*z-. 1 = off. "
              "11 (KJNodes default) for distilled LTX-2.3; 3 for a gentler 1080p setting."),
        Float("nag_alpha", default=0.25, min=0.0, max=1.0, step=0.01,
              tooltip="Share of the guided output: out = alpha*g + (1-alpha)*z+. 0 = off; 0.2 to 0.25 usual."),
        Float("nag_tau", default=2.5, min=0.01, max=10.0, step=0.01,
              tooltip="Largest allowed ratio ||g||_1 / ||z+||_1 per token; larger g is "
              "scaled down to it. 2.0 to 2.5 usual; lower = safer, weaker."),
        Boolean("enable", default=True, tooltip="Off passes the model through unpatched."),
    ),
    outputs=(
        Output("model", "MODEL",
               "The model with NAG on its text cross-attention (a patched clone; the input model is untouched)."),
    ),
))
class AudioLoopLTX2NAG:
    """Normalized attention guidance on every LTX-2 AV block's video and audio text cross-attention."""

    def execute(self, model, negative, nag_scale, nag_alpha, nag_tau, enable):
        params = NagParams(float(nag_scale), float(nag_alpha), float(nag_tau))
        return (apply_nag(model, negative, params, bool(enable)),)


@comfy_node(NodeSpec(
    id="AudioLoopHelperSageAttention",
    display_name="AudioLoopHelper Sage Attention",
    category=CATEGORY_ATTENTION,
    description=(
        "Routes the patched model's attention to SageAttention kernels (NVIDIA GPUs with the optional "
        "'sageattention' package). auto_mask_aware sends masked calls (LTX guide masks) to PyTorch attention, "
        "which honours masks, and the rest to the fastest SageAttention kernel for the GPU. Without "
        "SageAttention or CUDA the model runs PyTorch attention after one warning. Loads AudioLoopHelper workflows."
    ),
    inputs=(
        Socket("model", "MODEL", tooltip="Model to patch (a clone is patched; the input stays as it is)."),
        Combo("mode", MODES, default=DEFAULT_MODE,
              tooltip="disabled: no patch. auto_mask_aware: masked calls -> PyTorch "
              "attention, others -> SageAttention's fastest kernel for this GPU. auto: "
              "every call to SageAttention, masks passed along (only for builds that "
              "honour masks). Kernel names: that kernel for unmasked calls."),
        Boolean("fallback_on_error", default=True,
                tooltip="A SageAttention error runs that call with PyTorch attention (logged once per kernel "
                "and error) instead of stopping the render."),
        Int("skip_under_seq_len", default=0, min=0, max=8192,
            tooltip="Calls whose query is shorter than this many tokens use PyTorch attention (SageAttention's "
            "fixed cost loses on short sequences). 0 = off; 1024 is a sensible value."),
    ),
    outputs=(
        Output("model", "MODEL",
               "The model with its attention routed as chosen (a patched clone; the input model is untouched)."),
    ),
))
class AudioLoopHelperSageAttention:
    """SageAttention for one model through ComfyUI's attention override; PyTorch attention where it cannot run."""

    def execute(self, model, mode, fallback_on_error, skip_under_seq_len):
        return (apply_sage_attention(model, mode, bool(fallback_on_error), int(skip_under_seq_len)),)
