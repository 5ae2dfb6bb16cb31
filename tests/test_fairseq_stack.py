"""The patched fairseq 0.12.2 stack: imports, patch hunks in effect, plugin registration."""
import os
import subprocess
import sys

import torch

from conftest import REPO, tool_env


def test_fairseq_imports_with_hydra_defaults():
    from fairseq.dataclass.configs import FairseqConfig
    from fairseq.dataclass.initialize import hydra_init
    from fairseq.models.transformer import TransformerConfig

    cfg = FairseqConfig()
    assert cfg.common is not FairseqConfig().common  # default_factory: fresh instances
    assert TransformerConfig().encoder.embed_dim == 512
    hydra_init()  # stores every group node built from its factory


def test_numpy2_paths_of_fairseq():
    import numpy as np
    from fairseq.data import data_utils

    mask = data_utils.compute_mask_indices((2, 40), None, 0.3, 4, mask_type="static", no_overlap=True)
    assert mask.shape == (2, 40) and mask.any() and np.issubdtype(mask.dtype, np.bool_)


def test_encoder_layer_has_no_fast_path_copies():
    from fairseq.models.transformer import TransformerConfig
    from fairseq.modules.transformer_layer import TransformerEncoderLayerBase

    layer = TransformerEncoderLayerBase(TransformerConfig())
    names = {n for n, _ in layer.named_parameters()}
    assert not any(n.endswith(("in_proj_weight", "fc1_weight", "fc2_bias")) for n in names)
    # a checkpoint written by stock 0.12.2 carries the 8 copies: they are dropped on load
    state = layer.state_dict()
    for key in ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias",
                "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"):
        state[key] = torch.zeros(1)
    layer.load_state_dict(state, strict=True)


def test_post_norm_relu_encoder_inference_matches_training_path():
    """The removed fast path used to break eval-mode post-norm ReLU encoders (XLM-R-like)."""
    from fairseq.models.transformer import TransformerConfig
    from fairseq.modules.transformer_layer import TransformerEncoderLayerBase

    cfg = TransformerConfig()
    cfg.encoder.embed_dim, cfg.encoder.ffn_embed_dim, cfg.dropout = 16, 32, 0.0
    layer = TransformerEncoderLayerBase(cfg)
    x = torch.randn(5, 3, 16)
    pad = torch.zeros(3, 5, dtype=torch.bool)
    pad[0, -2:] = True
    train_out = layer.train()(x, pad)
    with torch.no_grad():
        eval_out = layer.eval()(x, pad)
    assert torch.allclose(train_out, eval_out, atol=1e-6)


def test_plugin_registers_and_imports_twice():
    import importlib

    import fairseq_xlgen
    from fairseq.models import ARCH_MODEL_REGISTRY

    importlib.reload(fairseq_xlgen)  # registering again must not raise
    assert "mbart_tiny" in ARCH_MODEL_REGISTRY and "xlmr_tiny" in ARCH_MODEL_REGISTRY


def test_userdir_printed_and_usable_from_any_directory(tmp_path):
    env = tool_env()
    user_dir = subprocess.run(["xlgen-userdir"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert os.path.samefile(user_dir, os.path.join(REPO, "fairseq_xlgen"))
    parse = ("from fairseq import options; p = options.get_training_parser(); "
             f"a = options.parse_args_and_arch(p, ['data', '--user-dir', {user_dir!r}, '--arch', 'mbart_tiny', "
             "'--task', 'translation_from_pretrained_bart', '--langs', 'en_XX']); print(a.encoder_embed_dim)")
    out = subprocess.run([sys.executable, "-c", parse], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "64"  # filled in by the plugin's mbart_tiny architecture


def test_denoising_tasks_parse_with_bart_archs(tmp_path):
    env = tool_env()
    for task, arch in (("denoising", "bart_base"), ("multilingual_denoising", "mbart_base")):
        out = subprocess.run(["fairseq-train", str(tmp_path), "--task", task, "--arch", arch, "--langs", "en_XX",
                              "--help"], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
