"""ltx-audioloop: loop LTX-2.3 audio+video over a track of any length inside ComfyUI.

ComfyUI imports this folder as a package and reads ``NODE_CLASS_MAPPINGS``; pip installs the
same folder as ``ltx_audioloop`` (command line: ``ltx-audioloop``).
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__version__ = "0.1.0"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "__version__"]
