"""ltx-audioloop: loop LTX-2.3 audio+video over a track of any length inside ComfyUI.

ComfyUI imports this folder as a package and reads ``NODE_CLASS_MAPPINGS``; pip installs the
same folder as ``ltx_audioloop`` (command line: ``ltx-audioloop``).

The node tables are resolved on first access (PEP 562 module ``__getattr__``): ComfyUI reads
them right after import, so the pack loads as before, while the command line, which imports
this package too, never pays for torch unless a command needs it.
"""

__version__ = "0.1.0"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "__version__"]

_NODE_TABLES = ("NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS")


def __getattr__(name: str):
    if name in _NODE_TABLES:
        from . import nodes
        from .nodes.registration import report_overrides

        tables = {
            "NODE_CLASS_MAPPINGS": nodes.NODE_CLASS_MAPPINGS,
            "NODE_DISPLAY_NAME_MAPPINGS": nodes.NODE_DISPLAY_NAME_MAPPINGS,
        }
        globals().update(tables)
        report_overrides(nodes.NODE_CLASS_MAPPINGS)
        return tables[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
