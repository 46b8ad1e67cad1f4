"""Build the tiny random-weight LTX-2 audio+video model files for the real-ComfyUI tests.

Run with the Python of the ComfyUI under test (it imports ComfyUI's own model classes):

    python build_tiny_stack.py --comfy COMFYUI_CHECKOUT --models MODELS_DIR [--seed 0]

Every part is an instance of ComfyUI's own class (``LTXAVModel``, ``VideoVAE``, ``AudioVAE``, the LTX-2
text encoder with ``tiny_te_patch`` applied), initialised from a seeded generator and saved the way the
published checkpoints are: safetensors whose ``config`` metadata holds the ``transformer`` / ``vae`` /
``audio_vae`` / ``vocoder`` sections, so ComfyUI's model detection builds the same tiny model back.
File names are those in ``tiny_sizes``. Prints one JSON line with the parameter counts at the end.
"""
import argparse
import io
import json
import math
import os
import random
import sys
import time

import tiny_sizes as sizes

# Words for the SentencePiece training text (the tokenizer only has to cover prompts' characters).
_WORDS = ("a the and with of in on at to from into over under through close wide medium shot static camera "
          "slow motion light warm cold soft bright dark night day woman man singer guitar piano stage room "
          "house window door street city forest ocean river rain snow sun moon sky red green blue gold black "
          "white hair jacket dress face hands smile sings whispers walks runs looks turns holds music voice "
          "beat drum song verse chorus bridge portrait cinematic film grain shallow depth field").split()


def _init_weights(module, seed):
    """Seeded init: weight matrices ~ N(0, 1/fan_in); biases and snake alpha/beta 0; norm gains 1
    (0 where the norm adds 1 to its weight, as Gemma's does); latent statistics mean 0, std 1."""
    import torch
    generator = torch.Generator().manual_seed(seed)
    norm_values = {}
    for name, child in module.named_modules():
        if "norm" not in type(child).__name__.lower():
            continue
        for pname, _ in child.named_parameters(recurse=False):
            full = f"{name}.{pname}" if name else pname
            gain = 0.0 if getattr(child, "add", False) else 1.0
            norm_values[full] = gain if pname == "weight" else 0.0
    with torch.no_grad():
        for name, param in sorted(module.named_parameters()):
            if not param.is_floating_point():
                continue
            leaf = name.rsplit(".", 1)[-1]
            if name in norm_values:
                param.fill_(norm_values[name])
            elif leaf in ("bias", "alpha", "beta"):
                param.zero_()
            elif param.ndim >= 2:
                param.copy_(torch.randn(param.shape, generator=generator) / math.sqrt(max(1, param[0].numel())))
            else:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.02)
        for name, buf in module.named_buffers():
            if name.endswith("std-of-means"):
                buf.fill_(1.0)
            elif name.endswith("mean-of-means"):
                buf.zero_()
    return module


def _state(module, prefix=""):
    return {prefix + k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}


def _tokenizer_model():
    """A BPE SentencePiece model with ids pad 0, eos 1, bos 2, unk 3 (Gemma's layout)."""
    import sentencepiece
    rng = random.Random(20240611)
    lines = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 16))) + rng.choice(".,!? ")
             for _ in range(4000)]
    lines += [f"{m}:{s:02d}-{m}:{s + 5:02d}: {w}" for m in range(3) for s in range(0, 55, 5) for w in _WORDS[:12]]
    buffer = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buffer, vocab_size=sizes.TOKENIZER_PIECES,
        model_type="bpe", pad_id=0, eos_id=1, bos_id=2, unk_id=3, character_coverage=1.0,
        num_threads=1, minloglevel=2, split_digits=True)
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comfy", required=True, help="ComfyUI checkout whose classes build the model")
    parser.add_argument("--models", required=True, help="models folder to write into")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.monotonic()
    sys.path.insert(0, os.path.abspath(args.comfy))

    import comfy.cli_args
    import torch
    from safetensors.torch import save_file
    comfy.cli_args.args.cpu = True  # must precede the first import of comfy.model_management
    import comfy.ops
    import comfy.text_encoders.lt as lt
    import tiny_te_patch
    from comfy.ldm.lightricks.av_model import LTXAVModel
    from comfy.ldm.lightricks.vae.audio_vae import AudioVAE
    from comfy.ldm.lightricks.vae.causal_video_autoencoder import VideoVAE

    torch.manual_seed(args.seed)
    sections = {"transformer": sizes.TRANSFORMER, "vae": sizes.VIDEO_VAE,
                "audio_vae": sizes.AUDIO_VAE, "vocoder": sizes.VOCODER}
    ops = comfy.ops.disable_weight_init

    dit = LTXAVModel(**sizes.TRANSFORMER, dtype=torch.float32, device="cpu", operations=ops)
    dit_sd = _state(_init_weights(dit, args.seed + 1), "model.diffusion_model.")
    video_vae_sd = _state(_init_weights(VideoVAE(config=sizes.VIDEO_VAE), args.seed + 2))
    audio_vae = AudioVAE(metadata={"config": json.dumps({"audio_vae": sizes.AUDIO_VAE, "vocoder": sizes.VOCODER})})
    _init_weights(audio_vae, args.seed + 3)
    # The published checkpoints name the audio autoencoder "audio_vae."; the class calls it "autoencoder.".
    audio_sd = {}
    for key, value in _state(audio_vae).items():
        if key.startswith("autoencoder."):
            audio_sd["audio_vae." + key[len("autoencoder."):]] = value
        elif key.startswith("vocoder."):
            audio_sd[key] = value

    tiny_te_patch.apply()
    text_encoder = lt.LTXAVTEModel(dtype_llama=torch.float32, device="cpu", dtype=torch.float32,
                                   text_projection_type="single_linear",
                                   model_options={"custom_operations": ops})
    _init_weights(text_encoder, args.seed + 4)
    gemma_sd = _state(text_encoder.gemma3_12b.transformer)
    projection_sd = _state(text_encoder.text_embedding_projection, "text_embedding_projection.")
    gemma_sd["spiece_model"] = torch.frombuffer(bytearray(_tokenizer_model()), dtype=torch.uint8).clone()

    def write(relative, state, keys):
        path = os.path.join(args.models, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        metadata = {"config": json.dumps({k: sections[k] for k in keys})} if keys else None
        save_file(state, path + ".part", metadata=metadata)
        os.replace(path + ".part", path)

    video_vae_prefixed = {"vae." + k: v for k, v in video_vae_sd.items()}
    write(sizes.CHECKPOINT, {**dit_sd, **video_vae_prefixed, **audio_sd, **projection_sd},
          ["transformer", "vae", "audio_vae", "vocoder"])
    write(sizes.DIFFUSION_MODEL, dit_sd, ["transformer"])
    write(sizes.VIDEO_VAE_FILE, video_vae_sd, ["vae"])
    write(sizes.AUDIO_VAE_FILE, audio_sd, ["audio_vae", "vocoder"])
    write(sizes.AUDIO_VAE_CHECKPOINT, audio_sd, ["audio_vae", "vocoder"])
    write(sizes.GEMMA_FILE, gemma_sd, None)
    write(sizes.PROJECTION_FILE, projection_sd, None)

    def count(state):
        return sum(v.numel() for k, v in state.items() if k != "spiece_model")

    print(json.dumps({"dit": count(dit_sd), "video_vae": count(video_vae_sd), "audio_vae": count(audio_sd),
                      "gemma": count(gemma_sd), "projection": count(projection_sd),
                      "seconds": round(time.monotonic() - started, 2)}))


if __name__ == "__main__":
    main()
