"""Each node declared once: a :class:`NodeSpec` holds its id, menu entry, inputs and outputs.

ComfyUI's V1 API spreads one node over several class attributes: the inputs in ``INPUT_TYPES``,
the outputs in three tuples that must stay aligned by position (``RETURN_TYPES``,
``RETURN_NAMES``, ``OUTPUT_TOOLTIPS``), the id and display name in the package's mapping tables.
Here every input and output is one value carrying its name, type, tooltip and limits, and
:func:`comfy_node` writes the V1 attributes from it, so they cannot drift apart.

It stays on the V1 API (no ``comfy`` import): the classes are the real node classes and the
tests exercise them without ComfyUI.

Order is meaning: saved canvases store widget values by position and link outputs by slot, so
``inputs`` is the order ComfyUI shows (every required input before the first optional one) and
``outputs`` the slot order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
"""Types ComfyUI draws as a widget (a value typed on the node) rather than a socket."""

V1_ATTRIBUTES = ("INPUT_TYPES", "RETURN_TYPES", "RETURN_NAMES", "OUTPUT_TOOLTIPS", "CATEGORY", "DESCRIPTION",
                 "FUNCTION", "OUTPUT_NODE")
"""What :func:`comfy_node` writes; a class that also defines one of them declares it twice."""


@dataclass(frozen=True)
class Input:
    """One node input: a widget (``INT``, ``FLOAT``, ``STRING``, ``BOOLEAN``, ``COMBO``) or a socket.

    ``None`` fields are left out of the V1 options, exactly as if never written.
    """

    name: str
    type: str
    tooltip: str
    optional: bool = False
    default: Any = None
    min: Any = None
    max: Any = None
    step: Any = None
    choices: tuple = ()
    multiline: Optional[bool] = None
    dynamic_prompts: Optional[bool] = None
    force_input: Optional[bool] = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"input name {self.name!r} must be a Python identifier (it is a parameter name)")
        if not self.tooltip:
            raise ValueError(f"input {self.name!r} needs a tooltip")
        if (self.type == "COMBO") != bool(self.choices):
            raise ValueError(f"input {self.name!r}: choices belong to COMBO inputs, and every COMBO needs them")

    @property
    def is_widget(self) -> bool:
        return self.type in WIDGET_TYPES and not self.force_input

    def v1_options(self) -> dict:
        """The options dict of the V1 input tuple (same keys ComfyUI documents)."""
        options = {}
        for key, value in (("default", self.default), ("min", self.min), ("max", self.max), ("step", self.step),
                           ("multiline", self.multiline), ("dynamicPrompts", self.dynamic_prompts),
                           ("forceInput", self.force_input)):
            if value is not None:
                options[key] = value
        options["tooltip"] = self.tooltip
        return options

    def v1(self) -> tuple:
        """The V1 ``(type, options)`` tuple; a COMBO's type is the list of its choices."""
        kind = list(self.choices) if self.type == "COMBO" else self.type
        return (kind, self.v1_options())


@dataclass(frozen=True)
class Output:
    """One node output slot: its name, type and tooltip."""

    name: str
    type: str
    tooltip: str


@dataclass(frozen=True)
class NodeSpec:
    """Everything ComfyUI knows about one node, declared once.

    ``id`` is what saved workflows store (it may differ from the class name); ``hidden`` maps
    hidden input names to ComfyUI's hidden values (``PROMPT``, ``EXTRA_PNGINFO``).
    """

    id: str
    display_name: str
    category: str
    description: str
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    output_node: bool = False
    hidden: tuple[tuple[str, str], ...] = ()
    function: str = "execute"

    def __post_init__(self) -> None:
        names = [item.name for item in self.inputs] + [name for name, _ in self.hidden]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.id}: input names repeat: {names}")
        outputs = [item.name for item in self.outputs]
        if len(set(outputs)) != len(outputs):
            raise ValueError(f"{self.id}: output names repeat: {outputs}")
        flags = [item.optional for item in self.inputs]
        if flags != sorted(flags):
            raise ValueError(f"{self.id}: every required input must come before the first optional one "
                             "(ComfyUI lists required inputs first, so that is the widget order)")
        if not self.outputs:
            raise ValueError(f"{self.id}: a node needs at least one output")

    @property
    def required(self) -> tuple[Input, ...]:
        return tuple(item for item in self.inputs if not item.optional)

    @property
    def optional(self) -> tuple[Input, ...]:
        return tuple(item for item in self.inputs if item.optional)

    @property
    def widgets(self) -> tuple[Input, ...]:
        """Widget inputs in the order a saved canvas stores their values."""
        return tuple(item for item in self.inputs if item.is_widget)

    def input(self, name: str) -> Input:
        for item in self.inputs:
            if item.name == name:
                return item
        raise KeyError(f"{self.id} has no input {name!r}")

    def output_index(self, name: str) -> int:
        for index, item in enumerate(self.outputs):
            if item.name == name:
                return index
        raise KeyError(f"{self.id} has no output {name!r}")

    def input_types(self) -> dict:
        """V1 ``INPUT_TYPES()``: a fresh dict each call (callers may change it)."""
        declared: dict = {"required": {item.name: item.v1() for item in self.required}}
        if self.optional:
            declared["optional"] = {item.name: item.v1() for item in self.optional}
        if self.hidden:
            declared["hidden"] = dict(self.hidden)
        return declared


# Constructors named after ComfyUI's socket types (as its own io.Int, io.Float, ...).


def Int(name: str, *, default: int, min: int, max: int, tooltip: str, step: Optional[int] = None,
        optional: bool = False) -> Input:
    return Input(name, "INT", tooltip, optional, default, min, max, step)


def Float(name: str, *, default: float, min: float, max: float, tooltip: str, step: Optional[float] = None,
          optional: bool = False) -> Input:
    return Input(name, "FLOAT", tooltip, optional, default, min, max, step)


def String(name: str, *, default: str, tooltip: str, multiline: Optional[bool] = None,
           dynamic_prompts: Optional[bool] = None, optional: bool = False) -> Input:
    return Input(name, "STRING", tooltip, optional, default, multiline=multiline, dynamic_prompts=dynamic_prompts)


def Boolean(name: str, *, default: bool, tooltip: str, optional: bool = False) -> Input:
    return Input(name, "BOOLEAN", tooltip, optional, default)


def Combo(name: str, choices: Iterable[str], *, default: str, tooltip: str, optional: bool = False) -> Input:
    choices = tuple(choices)
    if default not in choices:
        raise ValueError(f"input {name!r}: default {default!r} is not one of {choices}")
    return Input(name, "COMBO", tooltip, optional, default, choices=choices)


def Socket(name: str, type: str, *, tooltip: str, optional: bool = False) -> Input:
    """A linked input of ``type`` (``AUDIO``, ``LATENT``, ...): no widget, no default."""
    if type in WIDGET_TYPES:
        raise ValueError(f"input {name!r}: {type} is a widget type; use its constructor (Int, Float, ...)")
    return Input(name, type, tooltip, optional)


def comfy_node(spec: NodeSpec):
    """Class decorator: attach ``spec`` as ``SPEC`` and write the V1 attributes ComfyUI reads from it.

    ``OUTPUT_NODE`` is written only for output nodes (ComfyUI treats its absence as ``False``).
    The class keeps only its behaviour: the ``FUNCTION`` method, ``VALIDATE_INPUTS`` where needed.
    """

    def attach(cls: type) -> type:
        twice = [name for name in (*V1_ATTRIBUTES, "SPEC") if name in vars(cls)]
        if twice:
            raise TypeError(f"{cls.__name__} defines {', '.join(twice)} itself; they come from its NodeSpec")
        if not callable(getattr(cls, spec.function, None)):
            raise TypeError(f"{cls.__name__} has no method {spec.function!r} (the spec's function)")
        cls.SPEC = spec
        cls.INPUT_TYPES = classmethod(lambda _cls: spec.input_types())
        cls.RETURN_TYPES = tuple(item.type for item in spec.outputs)
        cls.RETURN_NAMES = tuple(item.name for item in spec.outputs)
        cls.OUTPUT_TOOLTIPS = tuple(item.tooltip for item in spec.outputs)
        cls.CATEGORY = spec.category
        cls.DESCRIPTION = spec.description
        cls.FUNCTION = spec.function
        if spec.output_node:
            cls.OUTPUT_NODE = True
        return cls

    return attach


def registration_table(classes: Iterable[type]) -> dict[str, tuple[type, str]]:
    """``{node id: (class, display name)}`` in the order given (the menu order), from each ``SPEC``."""
    table: dict[str, tuple[type, str]] = {}
    for cls in classes:
        spec = cls.SPEC
        if spec.id in table:
            raise ValueError(f"node id {spec.id!r} is declared by {table[spec.id][0].__name__} and {cls.__name__}")
        table[spec.id] = (cls, spec.display_name)
    return table
