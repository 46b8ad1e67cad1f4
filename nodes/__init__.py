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

NODE_CLASS_MAPPINGS = {
    "AudioLoopController": AudioLoopController,
    "AudioLoopPlanner": AudioLoopPlanner,
    "AudioDuration": AudioDuration,
    "TimestampPromptSchedule": TimestampPromptSchedule,
    "TimestampPromptScheduleBatchEncode": TimestampPromptScheduleBatchEncode,
    "ConditioningSelectByIteration": ConditioningSelectByIteration,
    "KeyframeImageSchedule": KeyframeImageSchedule,
    "KeyframeClipPlan": KeyframeClipPlan,
    "VideoFrameExtract": VideoFrameExtract,
    "ImageBlend_AudioLoop": ImageBlend_AudioLoop,
    "AudioLoopConditioningBlend": AudioLoopConditioningBlend,
    "CachedTextEncode_AudioLoop": CachedTextEncode_AudioLoop,
    "LatentContextExtract": LatentContextExtract,
    "LatentOverlapTrim": LatentOverlapTrim,
    "LatentOverlapCrossfade": LatentOverlapCrossfade,
    "StripLatentNoiseMask": StripLatentNoiseMask,
    "AudioLoopJoinLatents": AudioLoopJoinLatents,
    "AudioLoopWindowLatent": AudioLoopWindowLatent,
    "FreezeAudioLatent": FreezeAudioLatent,
    "ImageContextExtract": ImageContextExtract,
    "ImageOverlapTrim": ImageOverlapTrim,
    "AudioLoopJoinImages": AudioLoopJoinImages,
    "IterationCleanup": IterationCleanup,
    "PurgeVRAM": PurgeVRAM,
    "AudioLoopSaveVideo": AudioLoopSaveVideo,
    "AudioLoopLTX2NAG": AudioLoopLTX2NAG,
    "AudioLoopHelperSageAttention": AudioLoopHelperSageAttention,
    "AudioPreprocessForLTX": AudioPreprocessForLTX,
    "AudioAnalyzeForLTX": AudioAnalyzeForLTX,
    "AudioVocalPitch": AudioVocalPitch,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "AudioLoopController": "Audio Loop Controller",
    "AudioLoopPlanner": "Audio Loop Planner",
    "AudioDuration": "Audio Duration",
    "TimestampPromptSchedule": "Timestamp Prompt Schedule",
    "TimestampPromptScheduleBatchEncode": "Timestamp Prompt Schedule (Batch Encode)",
    "ConditioningSelectByIteration": "Conditioning Select (by Iteration)",
    "KeyframeImageSchedule": "Keyframe Image Schedule",
    "KeyframeClipPlan": "Keyframe Clip Plan (first-last frame)",
    "VideoFrameExtract": "Video Frame Extract",
    "ImageBlend_AudioLoop": "Image Blend (Audio Loop)",
    "AudioLoopConditioningBlend": "Conditioning Blend (Audio Loop)",
    "CachedTextEncode_AudioLoop": "Cached Text Encode",
    "LatentContextExtract": "Latent Context Extract",
    "LatentOverlapTrim": "Latent Overlap Trim",
    "LatentOverlapCrossfade": "Latent Overlap Crossfade",
    "StripLatentNoiseMask": "Strip Latent Noise Mask",
    "AudioLoopJoinLatents": "Join Loop Latents (Audio Loop)",
    "AudioLoopWindowLatent": "Window Latent from Context (Audio Loop)",
    "FreezeAudioLatent": "Freeze Audio Latent",
    "ImageContextExtract": "Image Context Extract",
    "ImageOverlapTrim": "Image Overlap Trim",
    "AudioLoopJoinImages": "Join Loop Images (Audio Loop)",
    "IterationCleanup": "Iteration Cleanup",
    "PurgeVRAM": "Purge VRAM (defensive)",
    "AudioLoopSaveVideo": "Decode and Save Video (bounded memory)",
    "AudioLoopLTX2NAG": "LTX-2 NAG (Audio Loop)",
    "AudioLoopHelperSageAttention": "AudioLoopHelper Sage Attention",
    "AudioPreprocessForLTX": "Audio Preprocess for LTX (lip sync EQ + loudness)",
    "AudioAnalyzeForLTX": "Audio Analyze for LTX (report, timeline, schedule)",
    "AudioVocalPitch": "Audio Vocal Activity and Pitch",
}

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
