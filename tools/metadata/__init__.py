"""Reading the ComfyUI workflow and prompt that ComfyUI and VideoHelperSuite store in saved files.

``containers`` walks PNG chunks, WEBP RIFF chunks (EXIF parsed by Pillow) and audio/video
container tags (PyAV) and returns the raw text; ``extract`` turns that text into JSON with size
bounds; ``summary`` describes what a workflow contains. Nothing is ever evaluated: text is only
passed to ``json.loads``.
"""

from .containers import MAX_CHUNK_BYTES, MAX_TEXT_BYTES
from .extract import ExtractedMetadata, extract_metadata

__all__ = ["MAX_CHUNK_BYTES", "MAX_TEXT_BYTES", "ExtractedMetadata", "extract_metadata"]
