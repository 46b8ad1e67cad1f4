"""How ComfyUI's frontend reads a saved node's ``widgets_values``, quirks included.

When a canvas is loaded, the frontend (1.43 and the versions before it) first runs a legacy
migration meant for workflows saved while ``forceInput`` inputs still had widgets: it builds a
signature with one entry per top-level input that is either a widget of the node as created
or a ``forceInput`` input (two entries when the input has a ``control_after_generate`` combo),
and when the saved list has exactly as many values as that signature has entries, it drops
the values at the ``forceInput`` positions. A node whose list has that length for another
reason loses values: ``TensorLoopClose`` saved as ``[true, "start", 1]`` (accumulate, the
overlap mode and its ``overlap_frames`` sub-value) matches ``[accumulate, overlap, stop]``, so
the frontend drops the ``1`` and the overlap comes back as its default, 8.

:func:`frontend_values` applies the same rule, so our canvas-to-API conversion reads a canvas
as the frontend does; :func:`safe_values` pads such a list with one trailing ``None`` (which
the frontend ignores: it assigns values to widgets in order and stops at the last widget), so
the canvases we ship load with the values they were written with.
"""

from __future__ import annotations

from typing import Any, Sequence

from .registry import NodeSpec

PAD = None
"""The value appended by :func:`safe_values`; the frontend never assigns it to a widget."""


def legacy_signature(spec: NodeSpec) -> list[bool]:
    """The frontend's migration signature of a node type: ``True`` at ``forceInput`` positions."""
    signature: list[bool] = []
    for item in spec.inputs:  # top-level inputs in the node definition's order
        if item.is_widget or item.force_input:
            signature.append(item.force_input)
            if item.control_after_generate:
                signature.append(False)
    return signature


def migration_fires(spec: NodeSpec, count: int) -> bool:
    """Whether the frontend drops values from a saved list of ``count`` values of this type."""
    signature = legacy_signature(spec)
    return any(signature) and len(signature) == count


_TYPE_CHECKS = {
    "BOOLEAN": lambda v: isinstance(v, bool),
    "INT": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "FLOAT": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "STRING": lambda v: isinstance(v, str),
}


def misread_values(spec: NodeSpec, values: Sequence[Any]) -> list[Any]:
    """Values the migration drops that cannot be a legacy ``forceInput`` widget's value.

    A legacy file holds, at a ``forceInput`` position, a value of that input's type (a boolean
    for ``stop``); anything else there (``1`` for a ``TensorLoopClose`` overlap count) is a value
    of another widget that the frontend throws away.
    """
    if not migration_fires(spec, len(values)):
        return []
    forced = [item for item in spec.inputs if item.is_widget or item.force_input]
    slots: list = []
    for item in forced:
        slots.append(item if item.force_input else None)
        if item.control_after_generate:
            slots.append(None)
    return [value for value, item in zip(values, slots)
            if item is not None and not _TYPE_CHECKS.get(item.type, lambda v: True)(value)]


def frontend_values(spec: NodeSpec, values: Sequence[Any]) -> list[Any]:
    """``values`` as the frontend assigns them to widgets after its legacy migration."""
    values = list(values)
    if migration_fires(spec, len(values)):
        signature = legacy_signature(spec)
        return [value for value, dropped in zip(values, signature) if not dropped]
    if values and values[-1] is PAD and migration_fires(spec, len(values) - 1):
        return values[:-1]  # our own padding (safe_values), ignored by the frontend
    return values


def safe_values(spec: NodeSpec, values: Sequence[Any]) -> list[Any]:
    """``values`` padded, where needed, so that the frontend's migration does not fire."""
    values = list(values)
    if migration_fires(spec, len(values)):
        values.append(PAD)
    return values
