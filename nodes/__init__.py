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
from .spec import registration_table
from .video_nodes import AudioLoopSaveVideo

NODE_CLASSES = (
    AudioLoopController,
    AudioLoopPlanner,
    AudioDuration,
    TimestampPromptSchedule,
    TimestampPromptScheduleBatchEncode,
    ConditioningSelectByIteration,
    KeyframeImageSchedule,
    KeyframeClipPlan,
    VideoFrameExtract,
    ImageBlend_AudioLoop,
    AudioLoopConditioningBlend,
    CachedTextEncode_AudioLoop,
    LatentContextExtract,
    LatentOverlapTrim,
    LatentOverlapCrossfade,
    StripLatentNoiseMask,
    AudioLoopJoinLatents,
    AudioLoopWindowLatent,
    FreezeAudioLatent,
    ImageContextExtract,
    ImageOverlapTrim,
    AudioLoopJoinImages,
    IterationCleanup,
    PurgeVRAM,
    AudioLoopSaveVideo,
    AudioLoopLTX2NAG,
    AudioLoopHelperSageAttention,
    AudioPreprocessForLTX,
    AudioAnalyzeForLTX,
    AudioVocalPitch,
)
"""Every node class in menu order; each carries its id and display name in its ``SPEC``."""

NODES = registration_table(NODE_CLASSES)
"""The one registration table: node id -> (class, display name), in menu order, derived from the specs.

The id is what saved workflows store, so each spec writes it out rather than taking the class name.
ComfyUI reads the two V1 tables below, both derived from this one.
"""

NODE_CLASS_MAPPINGS = {node_id: cls for node_id, (cls, _) in NODES.items()}
NODE_DISPLAY_NAME_MAPPINGS = {node_id: name for node_id, (_, name) in NODES.items()}

__all__ = ["NODES", "NODE_CLASSES", "NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
