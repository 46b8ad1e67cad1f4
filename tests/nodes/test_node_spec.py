"""Each node is declared once (nodes/spec.py): the V1 attributes and the registration table derive from it."""

from __future__ import annotations

import math

import pytest

from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS, NODE_CLASSES, NODE_DISPLAY_NAME_MAPPINGS, NODES, common
from ltx_audioloop.nodes.spec import (
    WIDGET_TYPES,
    Combo,
    Float,
    Input,
    Int,
    NodeSpec,
    Output,
    Socket,
    comfy_node,
    registration_table,
)

SPECS = [(cls.SPEC.id, cls) for cls in NODE_CLASSES]
CATEGORIES = {value for name, value in vars(common).items() if name.startswith("CATEGORY_") and name != "CATEGORY_ROOT"}


def _spec(**changes) -> NodeSpec:
    fields = dict(id="Probe", display_name="Probe", category=common.CATEGORY_UTILITY, description="A probe node.",
                  inputs=(Socket("latent", "LATENT", tooltip="in"),), outputs=(Output("latent", "LATENT", "out"),))
    fields.update(changes)
    return NodeSpec(**fields)


def test_registration_table_is_derived_from_the_specs_in_menu_order():
    assert NODES == registration_table(NODE_CLASSES)
    assert list(NODES) == [cls.SPEC.id for cls in NODE_CLASSES]
    assert list(NODE_CLASS_MAPPINGS) == list(NODES) == list(NODE_DISPLAY_NAME_MAPPINGS)
    for node_id, (cls, name) in NODES.items():
        assert NODE_CLASS_MAPPINGS[node_id] is cls and cls.SPEC.id == node_id
        assert NODE_DISPLAY_NAME_MAPPINGS[node_id] == name == cls.SPEC.display_name
    assert len(set(NODE_DISPLAY_NAME_MAPPINGS.values())) == len(NODES), "two nodes share a menu name"


def test_registration_refuses_a_repeated_id():
    first = comfy_node(_spec())(type("First", (), {"execute": lambda self, latent: (latent,)}))
    second = comfy_node(_spec())(type("Second", (), {"execute": lambda self, latent: (latent,)}))
    with pytest.raises(ValueError, match="Probe"):
        registration_table([first, second])


@pytest.mark.parametrize(("node_id", "cls"), SPECS)
def test_v1_attributes_are_derived_from_the_spec(node_id, cls):
    spec = cls.SPEC
    outputs = spec.outputs
    assert cls.RETURN_TYPES == tuple(o.type for o in outputs)
    assert cls.RETURN_NAMES == tuple(o.name for o in outputs)
    assert cls.OUTPUT_TOOLTIPS == tuple(o.tooltip for o in outputs)
    assert len(cls.RETURN_TYPES) == len(cls.RETURN_NAMES) == len(cls.OUTPUT_TOOLTIPS) >= 1
    assert all(isinstance(t, str) and len(t) > 10 for t in cls.OUTPUT_TOOLTIPS)
    assert (cls.CATEGORY, cls.DESCRIPTION, cls.FUNCTION) == (spec.category, spec.description, spec.function)
    assert getattr(cls, "OUTPUT_NODE", False) is spec.output_node
    if not spec.output_node:
        assert not hasattr(cls, "OUTPUT_NODE"), "ComfyUI reads an absent OUTPUT_NODE as False; keep it absent"
    declared = cls.INPUT_TYPES()
    assert declared == spec.input_types()
    assert list(declared.get("required", {})) == [i.name for i in spec.inputs if not i.optional]
    assert list(declared.get("optional", {})) == [i.name for i in spec.inputs if i.optional]
    assert declared.get("hidden", {}) == dict(spec.hidden)
    for item in spec.inputs:
        section = "optional" if item.optional else "required"
        kind, options = declared[section][item.name]
        assert kind == (list(item.choices) if item.type == "COMBO" else item.type)
        assert options["tooltip"] == item.tooltip


@pytest.mark.parametrize(("node_id", "cls"), SPECS)
def test_input_types_is_a_fresh_dict_each_call(node_id, cls):
    first = cls.INPUT_TYPES()
    first["required"].clear()
    assert cls.INPUT_TYPES()["required"], "a caller changing INPUT_TYPES() must not change the node"


@pytest.mark.parametrize(("node_id", "cls"), SPECS)
def test_every_widget_has_a_default_inside_its_limits(node_id, cls):
    spec = cls.SPEC
    names = [i.name for i in spec.inputs] + [name for name, _ in spec.hidden]
    assert len(names) == len(set(names)), f"{node_id}: input names repeat"
    assert len({o.name for o in spec.outputs}) == len(spec.outputs), f"{node_id}: output names repeat"
    for item in spec.inputs:
        where = f"{node_id}.{item.name}"
        assert item.name.isidentifier() and item.tooltip, where
        if item.type in ("INT", "FLOAT"):
            number = int if item.type == "INT" else (int, float)
            assert isinstance(item.default, number) and not isinstance(item.default, bool), where
            assert item.min <= item.default <= item.max, where
            assert math.isfinite(item.min) and math.isfinite(item.max), where
            assert item.step is None or item.step > 0, where
        elif item.type == "BOOLEAN":
            assert isinstance(item.default, bool), where
        elif item.type == "STRING":
            assert isinstance(item.default, str), where
        elif item.type == "COMBO":
            assert item.choices and item.default in item.choices, where
        else:
            assert item.type not in WIDGET_TYPES and item.default is None, f"{where}: a socket has no default"
            assert item.type.isupper() or item.type == "*", f"{where}: socket types are upper case"


@pytest.mark.parametrize(("node_id", "cls"), SPECS)
def test_categories_come_from_common(node_id, cls):
    assert cls.SPEC.category in CATEGORIES
    assert cls.SPEC.category.startswith(common.CATEGORY_ROOT + "/")


def test_widget_order_is_declaration_order():
    """Saved canvases store widget values by position: required widgets first, then optional ones."""
    for cls in NODE_CLASSES:
        declared = cls.INPUT_TYPES()
        v1_order = [name for section in ("required", "optional")
                    for name, (kind, _) in declared.get(section, {}).items()
                    if isinstance(kind, list) or kind in WIDGET_TYPES]
        assert v1_order == [i.name for i in cls.SPEC.widgets], cls.SPEC.id


def test_a_class_that_declares_a_v1_attribute_itself_is_refused():
    class Twice:
        RETURN_TYPES = ("LATENT",)

        def execute(self, latent):
            return (latent,)

    with pytest.raises(TypeError, match="RETURN_TYPES"):
        comfy_node(_spec())(Twice)


def test_a_class_without_the_spec_function_is_refused():
    with pytest.raises(TypeError, match="execute"):
        comfy_node(_spec())(type("NoBody", (), {}))


def test_output_node_is_written_only_for_output_nodes():
    plain = comfy_node(_spec())(type("Plain", (), {"execute": lambda self, latent: (latent,)}))
    output = comfy_node(_spec(output_node=True))(type("Out", (), {"execute": lambda self, latent: (latent,)}))
    assert not hasattr(plain, "OUTPUT_NODE") and output.OUTPUT_NODE is True


@pytest.mark.parametrize(("changes", "message"), [
    (dict(inputs=(Socket("a", "LATENT", tooltip="t"), Socket("a", "IMAGE", tooltip="t"))), "repeat"),
    (dict(outputs=(Output("a", "LATENT", "t"), Output("a", "INT", "t"))), "repeat"),
    (dict(inputs=(Socket("a", "LATENT", tooltip="t", optional=True), Socket("b", "LATENT", tooltip="t"))),
     "before the first optional"),
    (dict(outputs=()), "at least one output"),
    (dict(hidden=(("latent", "PROMPT"),)), "repeat"),
])
def test_node_spec_refuses_inconsistent_declarations(changes, message):
    with pytest.raises(ValueError, match=message):
        _spec(**changes)


def test_input_constructors_refuse_what_comfyui_would_misread():
    with pytest.raises(ValueError, match="not one of"):
        Combo("mode", ("a", "b"), default="c", tooltip="t")
    with pytest.raises(ValueError, match="widget type"):
        Socket("count", "INT", tooltip="t")
    with pytest.raises(ValueError, match="tooltip"):
        Socket("latent", "LATENT", tooltip="")
    with pytest.raises(ValueError, match="identifier"):
        Input("two words", "LATENT", "t")
    with pytest.raises(ValueError, match="COMBO"):
        Input("mode", "COMBO", "t")


def test_v1_options_keep_comfyui_keys_and_leave_unset_ones_out():
    assert Int("n", default=1, min=0, max=9, tooltip="t").v1() == ("INT", {"default": 1, "min": 0, "max": 9,
                                                                         "tooltip": "t"})
    assert Float("x", default=0.5, min=0.0, max=1.0, step=0.01, tooltip="t", optional=True).v1()[1] == {
        "default": 0.5, "min": 0.0, "max": 1.0, "step": 0.01, "tooltip": "t"}
    assert Combo("m", ("a", "b"), default="b", tooltip="t").v1() == (["a", "b"], {"default": "b", "tooltip": "t"})
    assert Input("s", "STRING", "t", default="", multiline=False, dynamic_prompts=True).v1() == (
        "STRING", {"default": "", "multiline": False, "dynamicPrompts": True, "tooltip": "t"})
    assert Socket("latent", "LATENT", tooltip="t").v1() == ("LATENT", {"tooltip": "t"})


def test_image_nodes_sit_under_image_and_latent_nodes_under_latent():
    for cls in NODE_CLASSES:
        spec = cls.SPEC
        types = {i.type for i in spec.inputs} | {o.type for o in spec.outputs}
        if spec.category == common.CATEGORY_LATENT:
            assert "IMAGE" not in types, spec.id
        if spec.category == common.CATEGORY_IMAGE:
            assert "IMAGE" in types and "LATENT" not in types, spec.id
    image = {cls.SPEC.id for cls in NODE_CLASSES if cls.SPEC.category == common.CATEGORY_IMAGE}
    assert image == {"ImageContextExtract", "ImageOverlapTrim", "AudioLoopJoinImages"}
