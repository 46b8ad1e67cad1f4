"""Sizes of the tiny random-weight LTX-2 audio+video model the real-ComfyUI tests build.

Plain data, no imports: read by ``build_tiny_stack.py`` (which writes the weights, run in ComfyUI's
Python) and by ``tiny_te_patch.py`` (copied into the test server's custom_nodes so ComfyUI's text-encoder
path builds a Gemma-3 of this size instead of the hard-coded 12B one).

The video VAE keeps the real model's compression (32x32 pixels and 8 frames per latent cell, 128 latent
channels) so frame counts and latent shapes match what the package's nodes compute for the full model;
only widths and depths shrink.
"""

# Gemma-3 text encoder (the real one: 3840 wide, 48 layers, 262k pieces).
GEMMA_WIDTH = 64
GEMMA_LAYERS = 2
GEMMA_CONFIG = {
    "vocab_size": 512,
    "hidden_size": GEMMA_WIDTH,
    "intermediate_size": 2 * GEMMA_WIDTH,
    "num_hidden_layers": GEMMA_LAYERS,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 32,
}
GEMMA_CLASS_ATTRIBUTES = {
    "sliding_attention": [1024, False],
    "mm_tokens_per_image": 4,
    "vision_config": {
        "num_channels": 3, "hidden_act": "gelu_pytorch_tanh", "hidden_size": 16, "image_size": 32,
        "intermediate_size": 32, "model_type": "siglip_vision_model", "num_attention_heads": 2,
        "num_hidden_layers": 1, "patch_size": 16,
    },
}
# The tokenizer must know more than 106 pieces: ComfyUI hard-codes <end_of_turn> = 106.
TOKENIZER_PIECES = 512

# single_linear text projection: hidden states of every layer plus the embeddings, concatenated.
PROJECTION_IN = GEMMA_WIDTH * (GEMMA_LAYERS + 1)
PROJECTION_OUT = GEMMA_WIDTH

# Diffusion transformer; merged into ComfyUI's detected config from the checkpoint's metadata.
TRANSFORMER = {
    "num_layers": 2,
    "in_channels": 128,
    "audio_in_channels": 128,
    "num_attention_heads": 4,
    "attention_head_dim": 8,
    "cross_attention_dim": 32,
    "audio_num_attention_heads": 2,
    "audio_attention_head_dim": 8,
    "audio_cross_attention_dim": 16,
    "caption_channels": PROJECTION_OUT,
    "connector_num_layers": 1,
    "connector_num_attention_heads": 4,
    "connector_attention_head_dim": PROJECTION_OUT // 4,
}

VIDEO_VAE = {
    "_class_name": "CausalVideoAutoencoder",
    "dims": 3,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 128,
    "patch_size": 4,
    "encoder_base_channels": 8,
    "decoder_base_channels": 8,
    "encoder_blocks": [
        ["res_x", {"num_layers": 1}],
        ["compress_space_res", {"multiplier": 2}],
        ["compress_time_res", {"multiplier": 2}],
        ["compress_all_res", {"multiplier": 2}],
        ["compress_all_res", {"multiplier": 2}],
        ["res_x", {"num_layers": 1}],
    ],
    "decoder_blocks": [
        ["res_x", {"num_layers": 1, "inject_noise": False}],
        ["compress_all", {"residual": True, "multiplier": 2}],
        ["compress_all", {"residual": True, "multiplier": 2}],
        ["compress_all", {"residual": True, "multiplier": 2}],
        ["res_x", {"num_layers": 1, "inject_noise": False}],
    ],
    "norm_layer": "pixel_norm",
    "latent_log_var": "uniform",
    "scaling_factor": 1.0,
    "use_quant_conv": False,
    "causal_decoder": False,
    "timestep_conditioning": False,
}

# Mel audio autoencoder (16 kHz in) and a stereo HiFi-GAN vocoder (24 kHz out: 160 * 6*5*2*2*2 / 160).
AUDIO_VAE = {
    "model": {"params": {
        "sampling_rate": 16000,
        "ddconfig": {
            "in_channels": 2, "out_ch": 2, "ch": 8, "ch_mult": [1, 2, 4], "num_res_blocks": 1,
            "z_channels": 8, "double_z": True, "mel_bins": 64, "resolution": 256,
            "attn_resolutions": [], "dropout": 0.0, "downsample_time": False,
            "mid_block_add_attention": False, "norm_type": "pixel", "causality_axis": "height",
        },
    }},
    "preprocessing": {"stft": {"filter_length": 1024, "hop_length": 160}},
}
VOCODER = {
    "upsample_initial_channel": 32,
    "upsample_rates": [6, 5, 2, 2, 2],
    "upsample_kernel_sizes": [12, 11, 4, 4, 4],
    "resblock": "1",
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "activation": "snake",
    "stereo": True,
    "use_bias_at_final": True,
    "use_tanh_at_final": True,
}

# Files written under the test's models/ folder (relative paths) and the names workflows use.
CHECKPOINT = "checkpoints/ltx2av_test_tiny.safetensors"
DIFFUSION_MODEL = "diffusion_models/ltx2av_test_tiny_dit.safetensors"
VIDEO_VAE_FILE = "vae/ltx2av_test_tiny_video_vae.safetensors"
AUDIO_VAE_FILE = "vae/ltx2av_test_tiny_audio_vae.safetensors"
AUDIO_VAE_CHECKPOINT = "checkpoints/ltx2av_test_tiny_audio_vae.safetensors"
GEMMA_FILE = "text_encoders/gemma3_test_tiny.safetensors"
PROJECTION_FILE = "text_encoders/ltx2av_test_tiny_text_projection.safetensors"
