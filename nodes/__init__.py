"""ComfyUI node classes (V1 API). Each node's body calls into ``loop/`` or ``audio/``."""

from .attention_nodes import AudioLoopHelperSageAttention, AudioLoopLTX2NAG
from .audio_nodes import AudioAnalyzeForLTX, AudioPreprocessForLTX, AudioVocalPitch
from .conditioning_nodes import AudioLoopConditioningBlend, CachedTextEncode_AudioLoop
from .image_nodes import AudioLoopJoinImages, ImageContextExtract, ImageOverlapTrim
from .latent_nodes import (
    AudioLoopJoinLatents,
    AudioLoopWindowLatent,
    FreezeAudioLatent,
    LatentContextExtract,
    LatentOverlapCrossfade,
    LatentOverlapTrim,
    StripLatentNoiseMask,
)
from .loop_control import AudioDuration, AudioLoopController, AudioLoopPlanner
from .memory_nodes import IterationCleanup, PurgeVRAM
from .schedule_nodes import (
    ConditioningSelectByIteration,
    ImageBlend_AudioLoop,
    KeyframeClipPlan,
    KeyframeImageSchedule,
    TimestampPromptSchedule,
    TimestampPromptScheduleBatchEncode,
    VideoFrameExtract,
)
from .video_nodes import AudioLoopSaveVideo

NODES = {
    "AudioLoopController": (AudioLoopController, "Audio Loop Controller"),
    "AudioLoopPlanner": (AudioLoopPlanner, "Audio Loop Planner"),
    "AudioDuration": (AudioDuration, "Audio Duration"),
    "TimestampPromptSchedule": (TimestampPromptSchedule, "Timestamp Prompt Schedule"),
    "TimestampPromptScheduleBatchEncode": (
        TimestampPromptScheduleBatchEncode, "Timestamp Prompt Schedule (Batch Encode)"
    ),
    "ConditioningSelectByIteration": (ConditioningSelectByIteration, "Conditioning Select (by Iteration)"),
    "KeyframeImageSchedule": (KeyframeImageSchedule, "Keyframe Image Schedule"),
    "KeyframeClipPlan": (KeyframeClipPlan, "Keyframe Clip Plan (first-last frame)"),
    "VideoFrameExtract": (VideoFrameExtract, "Video Frame Extract"),
    "ImageBlend_AudioLoop": (ImageBlend_AudioLoop, "Image Blend (Audio Loop)"),
    "AudioLoopConditioningBlend": (AudioLoopConditioningBlend, "Conditioning Blend (Audio Loop)"),
    "CachedTextEncode_AudioLoop": (CachedTextEncode_AudioLoop, "Cached Text Encode"),
    "LatentContextExtract": (LatentContextExtract, "Latent Context Extract"),
    "LatentOverlapTrim": (LatentOverlapTrim, "Latent Overlap Trim"),
    "LatentOverlapCrossfade": (LatentOverlapCrossfade, "Latent Overlap Crossfade"),
    "StripLatentNoiseMask": (StripLatentNoiseMask, "Strip Latent Noise Mask"),
    "AudioLoopJoinLatents": (AudioLoopJoinLatents, "Join Loop Latents (Audio Loop)"),
    "AudioLoopWindowLatent": (AudioLoopWindowLatent, "Window Latent from Context (Audio Loop)"),
    "FreezeAudioLatent": (FreezeAudioLatent, "Freeze Audio Latent"),
    "ImageContextExtract": (ImageContextExtract, "Image Context Extract"),
    "ImageOverlapTrim": (ImageOverlapTrim, "Image Overlap Trim"),
    "AudioLoopJoinImages": (AudioLoopJoinImages, "Join Loop Images (Audio Loop)"),
    "IterationCleanup": (IterationCleanup, "Iteration Cleanup"),
    "PurgeVRAM": (PurgeVRAM, "Purge VRAM (defensive)"),
    "AudioLoopSaveVideo": (AudioLoopSaveVideo, "Decode and Save Video (bounded memory)"),
    "AudioLoopLTX2NAG": (AudioLoopLTX2NAG, "LTX-2 NAG (Audio Loop)"),
    "AudioLoopHelperSageAttention": (AudioLoopHelperSageAttention, "AudioLoopHelper Sage Attention"),
    "AudioPreprocessForLTX": (AudioPreprocessForLTX, "Audio Preprocess for LTX (lip sync EQ + loudness)"),
    "AudioAnalyzeForLTX": (AudioAnalyzeForLTX, "Audio Analyze for LTX (report, timeline, schedule)"),
    "AudioVocalPitch": (AudioVocalPitch, "Audio Vocal Activity and Pitch"),
}
"""The one registration table: node id -> (class, display name), in menu order.

The id is what saved workflows store, so it is written out rather than taken from the class name.
ComfyUI reads the two V1 tables below, both derived from this one.
"""

NODE_CLASS_MAPPINGS = {node_id: cls for node_id, (cls, _) in NODES.items()}
NODE_DISPLAY_NAME_MAPPINGS = {node_id: name for node_id, (_, name) in NODES.items()}

__all__ = ["NODES", "NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
