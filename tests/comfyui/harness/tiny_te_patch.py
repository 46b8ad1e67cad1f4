"""Test-only patch: let ComfyUI's LTX-2 text-encoder path load the tiny Gemma-3 of ``tiny_sizes``.

ComfyUI builds the LTX-2 text encoder with three facts of Gemma-3 12B baked in: the config class
``llama.Gemma3_12B_Config`` (3840 wide, 48 layers), the text projection ``Linear(3840 * 49, 3840)`` in
``lt.LTXAVTEModel.__init__``, and ``lt.LTXAVTEModel.load_sd`` telling the Gemma file from the checkpoint
by the key of layer 47. ``apply()`` replaces exactly these three; the tokenizer (read from the
``spiece_model`` tensor), the loaders and the encode nodes stay stock.

This file runs inside ComfyUI only: the real-ComfyUI tests copy it, with ``tiny_sizes.py``, into a custom
node folder of the test server, and ``build_tiny_stack.py`` imports it to build the weights.
"""
import dataclasses
import logging

try:  # inside the test server's custom node package
    from . import tiny_sizes as sizes
except ImportError:  # imported by build_tiny_stack.py as a plain module
    import tiny_sizes as sizes

_applied = False


def _tiny_gemma_config(base):
    """A dataclass subclass of ``base`` whose defaults are the tiny sizes."""
    annotations = {name: type(value) for name, value in sizes.GEMMA_CONFIG.items()
                   if name in getattr(base, "__dataclass_fields__", {})}
    namespace = {"__annotations__": annotations, **sizes.GEMMA_CONFIG}
    namespace.update({k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                      for k, v in sizes.GEMMA_CLASS_ATTRIBUTES.items()})
    return dataclasses.dataclass(type("TestTinyGemma3Config", (base,), namespace))


def apply():
    """Patch ComfyUI's classes once per process; later calls do nothing."""
    global _applied
    if _applied:
        return
    import comfy.text_encoders.llama as llama
    import comfy.text_encoders.lt as lt
    import torch

    llama.Gemma3_12B_Config = _tiny_gemma_config(llama.Gemma3_12B_Config)
    stock_load_sd = lt.LTXAVTEModel.load_sd
    last_layer_key = "model.layers.{}.self_attn.q_norm.weight".format(sizes.GEMMA_LAYERS - 1)

    def tiny_init(self, dtype_llama=None, device="cpu", dtype=None, text_projection_type="single_linear",
                  model_options={}):
        torch.nn.Module.__init__(self)
        self.dtypes = {dtype, dtype_llama}
        self.compat_mode = False
        self.text_projection_type = text_projection_type
        self.gemma3_12b = lt.Gemma3_12BModel(device=device, dtype=dtype_llama, model_options=model_options,
                                             layer="all", layer_idx=None)
        if text_projection_type != "single_linear":
            raise ValueError(f"tiny test text encoder: text_projection_type {text_projection_type!r} is not "
                             "built by the tests; use a checkpoint with a single_linear projection")
        self.text_embedding_projection = self.gemma3_12b.operations.Linear(
            sizes.PROJECTION_IN, sizes.PROJECTION_OUT, bias=False, dtype=dtype, device=device)

    def tiny_load_sd(self, sd):
        if last_layer_key in sd:
            return self.gemma3_12b.load_sd(sd)
        return stock_load_sd(self, sd)

    lt.LTXAVTEModel.__init__ = tiny_init
    lt.LTXAVTEModel.load_sd = tiny_load_sd
    _applied = True
    logging.info("ltx-audioloop tests: LTX-2 text encoder patched to a %d-layer, %d-wide Gemma-3",
                 sizes.GEMMA_LAYERS, sizes.GEMMA_WIDTH)
