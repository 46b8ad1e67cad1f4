"""The PIL picture -> ComfyUI ``IMAGE`` conversion the picture nodes return (nodes/common.py)."""

import pytest
import torch
from PIL import Image

from ltx_audioloop.nodes.common import image_to_tensor


def test_rgb_picture_becomes_one_float_image_in_0_1():
    image = Image.new("RGB", (7, 5), (0, 0, 0))
    image.putpixel((3, 2), (255, 128, 1))
    tensor = image_to_tensor(image)
    assert tensor.shape == (1, 5, 7, 3) and tensor.dtype == torch.float32
    assert float(tensor.min()) >= 0.0 and float(tensor.max()) <= 1.0
    assert tensor[0, 2, 3].tolist() == pytest.approx([1.0, 128 / 255, 1 / 255])
    assert float(tensor[0, 0, 0].abs().sum()) == 0.0


def test_other_modes_are_converted_to_rgb():
    converted = image_to_tensor(Image.new("L", (4, 3), 255))
    assert converted.shape == (1, 3, 4, 3) and bool((converted == 1.0).all())
