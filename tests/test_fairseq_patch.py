"""The hunks of third_party/fairseq-0.12.2-xlgen.patch not covered elsewhere keep fairseq's behaviour.

Covered elsewhere: hydra defaults, legacy models under fairseq-hydra-train (test_hydra_configs.py), compute_mask_indices, the encoder layer without fast-path
copies (test_fairseq_stack.py); the denoising flags, gloo DDP on CPU and the BART translation
task (test_fairseq_stack.py, test_mbart_finetune.py); checkpoint loading and saving
(test_safe_checkpoint_loading.py, test_reliability_matrix.py).
"""
import argparse
import itertools
import types
from importlib import metadata

import numpy as np
import pytest
import torch

from fairseq.data import Dictionary


def _dictionary(size=20):
    d = Dictionary()
    for i in range(size):
        d.add_symbol(f"w{i}")
    return d


def _tiny_transformer(dictionary, seed=0):
    """A 2+2-layer post-norm ReLU transformer (fairseq's legacy argparse path), in eval mode."""
    from fairseq.models.transformer import TransformerModel, base_architecture

    parser = argparse.ArgumentParser(argument_default=argparse.SUPPRESS)
    TransformerModel.add_args(parser)
    args = parser.parse_args([
        "--encoder-layers", "2", "--decoder-layers", "2", "--encoder-embed-dim", "16", "--decoder-embed-dim", "16",
        "--encoder-ffn-embed-dim", "32", "--decoder-ffn-embed-dim", "32", "--encoder-attention-heads", "2",
        "--decoder-attention-heads", "2", "--dropout", "0.0",
    ])
    base_architecture(args)
    torch.manual_seed(seed)
    task = types.SimpleNamespace(source_dictionary=dictionary, target_dictionary=dictionary)
    return TransformerModel.build_model(args, task).eval()


def _batch(dictionary):
    """Two sources, the second shorter (left-padded, as fairseq batches them)."""
    pad, eos = dictionary.pad(), dictionary.eos()
    src = torch.tensor([[5, 6, 7, 8, 9, eos], [pad, pad, 10, 11, 12, eos]])
    return src, torch.tensor([6, 4])


def test_transformer_scripts_and_matches_eager(tmp_path):
    """TorchScript used to fail: forward set ever_training, an attribute the patch had removed."""
    d = _dictionary()
    model = _tiny_transformer(d)
    src, lengths = _batch(d)
    prev = torch.tensor([[d.eos(), 5, 6, 7], [d.eos(), 8, 9, 10]])
    scripted = torch.jit.script(model)
    with torch.no_grad():
        eager_out, scripted_out = model(src, lengths, prev)[0], scripted(src, lengths, prev)[0]
    assert eager_out.shape == (2, 4, len(d))
    assert torch.allclose(eager_out, scripted_out, atol=1e-5)
    torch.jit.save(scripted, str(tmp_path / "model.pt"))
    with torch.no_grad():
        reloaded_out = torch.jit.load(str(tmp_path / "model.pt"))(src, lengths, prev)[0]
    assert torch.equal(reloaded_out, scripted_out)


def test_sequence_generator_scripts_and_matches_eager():
    from fairseq.sequence_generator import SequenceGenerator

    d = _dictionary()
    generator = SequenceGenerator([_tiny_transformer(d, seed=1)], d, beam_size=2, max_len_b=6)
    scripted = torch.jit.script(generator)
    src, lengths = _batch(d)
    sample = {"net_input": {"src_tokens": src, "src_lengths": lengths}}
    with torch.no_grad():
        eager_hyps, scripted_hyps = generator(sample), scripted(sample)
    assert [len(beam) for beam in eager_hyps] == [2, 2]
    for eager_beam, scripted_beam in zip(eager_hyps, scripted_hyps):
        for eager, script in zip(eager_beam, scripted_beam):
            assert torch.equal(eager["tokens"], script["tokens"])
            assert eager["tokens"][-1] == d.eos()
            assert torch.allclose(eager["positional_scores"], script["positional_scores"], atol=1e-5)
            assert float(eager["score"]) == pytest.approx(float(script["score"]), abs=1e-5)


def test_encoder_output_ignores_padding():
    """The fast-path removal keeps the padded positions out of every real token's state."""
    d = _dictionary()
    model = _tiny_transformer(d)
    src, lengths = _batch(d)
    with torch.no_grad():
        batched = model.encoder(src, lengths)["encoder_out"][0]  # T x B x C
        alone = model.encoder(src[1:, 2:], lengths[1:])["encoder_out"][0]
    assert torch.allclose(batched[2:, 1], alone[:, 0], atol=1e-5)


def test_transformer_config_sub_configs_are_fresh_instances():
    from fairseq.models.transformer import TransformerConfig

    a, b = TransformerConfig(), TransformerConfig()
    a.decoder.embed_dim, a.quant_noise.pq = 8, 0.5
    assert (b.decoder.embed_dim, b.quant_noise.pq) == (512, 0.0)


def test_transformer_config_keeps_the_extra_keys_of_a_hydra_model_section():
    """fairseq-hydra-train hands a legacy model its ``model:`` section as a DictConfig; the keys
    TransformerConfig does not declare (a plugin model's own options) survive, as a Namespace's do."""
    from fairseq.models.transformer import TransformerConfig
    from omegaconf import OmegaConf

    section = OmegaConf.create({"_name": "mbart_laft_tiny", "encoder_embed_dim": 16, "laft_variant": "enc",
                                "laft_k": 3})
    for args in (section, argparse.Namespace(**OmegaConf.to_container(section))):
        cfg = TransformerConfig.from_namespace(args)
        assert (cfg.encoder.embed_dim, cfg.laft_variant, cfg.laft_k) == (16, "enc", 3)
    with pytest.raises(AttributeError):  # no "task" in a model section: BART's upgrade reads it with a default
        TransformerConfig.from_namespace(section).task


def test_language_pair_dataset_bucketing_counts_padded_tokens():
    """num_buckets > 0: np.percentile(method=) and the vectorized num_tokens (numpy-2 hunks)."""
    from fairseq.data import LanguagePairDataset

    d = _dictionary()
    src = [torch.tensor([5] * n + [d.eos()]) for n in (1, 2, 7, 8)]
    tgt = [torch.tensor([6] * n + [d.eos()]) for n in (3, 1, 2, 9)]
    dataset = LanguagePairDataset(src, [len(s) for s in src], d, tgt, [len(t) for t in tgt], d, num_buckets=2)
    # bucket bounds = the lower 50th/100th percentiles of each side's lengths: source 2,3,8,9 -> {3, 9}
    # pads to 3,3,9,9; target 4,2,3,10 -> {3, 10} pads to 10,3,3,10; a pair counts the longer side
    assert dataset.bucketed_num_tokens.dtype == np.int64
    assert dataset.bucketed_num_tokens.tolist() == [10, 3, 9, 10]


def test_token_block_dataset_eos_mode_keeps_sentences():
    from fairseq.data import TokenBlockDataset

    sentences = [torch.tensor([4, 5, 2]), torch.tensor([6, 2]), torch.tensor([7, 8, 9, 2])]
    dataset = TokenBlockDataset(sentences, [3, 2, 4], block_size=None, pad=1, eos=2, break_mode="eos")
    assert dataset.block_to_dataset_index.tolist() == [[0, 0, 0], [1, 0, 1], [2, 0, 2]]
    assert [dataset[i].tolist() for i in range(3)] == [s.tolist() for s in sentences]


def test_denoising_noise_is_seeded_per_sample_not_by_the_global_torch_rng():
    """Span masking, random replacement, insertion and sentence permutation of an item depend on
    (seed, epoch, index) only: stock 0.12.2 drew them from torch's global RNG, which the
    prefetch thread shares with the trainer's per-update reseeding (runs and resumes differed)."""
    from fairseq.data import DenoisingDataset

    d = _dictionary(40)
    mask = d.add_symbol("<mask>")
    rows = [torch.tensor([d.bos()] + [4 + (3 * i + j) % 36 for j in range(12 + i % 5)] + [d.eos()]) for i in range(8)]
    args = argparse.Namespace(mask=0.35, mask_random=0.3, insert=0.1, rotate=0.0, permute_sentences=1.0,
                              bpe="sentencepiece", replace_length=1, mask_length="span-poisson", poisson_lambda=3.5)
    dataset = DenoisingDataset(rows, [len(r) for r in rows], d, mask, None, shuffle=False, seed=7, args=args)
    dataset.set_epoch(2)
    items = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        items.append([dataset[i]["source"] for i in range(len(rows))])
    assert all(torch.equal(a, b) for a, b in zip(*items))
    assert any(not torch.equal(item, row) for item, row in zip(items[0], rows))  # noise was applied
    dataset.set_epoch(3)
    assert any(not torch.equal(dataset[i]["source"], items[0][i]) for i in range(len(rows)))  # new noise per epoch


def test_dynamic_crf_with_full_beam_is_a_distribution():
    """With the beam as wide as the vocabulary, the CRF normalizer is exact: exp(log-likelihood)
    sums to 1 over all 3^3 label sequences (the targets path scatters +inf, np.float before)."""
    from fairseq.modules.dynamic_crf_layer import DynamicCRF

    torch.manual_seed(0)
    crf = DynamicCRF(num_embedding=3, low_rank=2, beam_size=3)
    emissions = torch.randn(1, 3, 3)
    sequences = torch.tensor(list(itertools.product(range(3), repeat=3)))
    masks = torch.ones(1, 3, dtype=torch.bool)
    with torch.no_grad():
        llh = torch.stack([crf(emissions, seq[None], masks)[0] for seq in sequences])
    assert torch.exp(llh).sum().item() == pytest.approx(1.0, abs=1e-5)
    assert llh.argmax().item() == int(sequences.tolist().index(crf.forward_decoder(emissions)[1][0].tolist()))


def test_install_requirements_are_the_patched_ones():
    requires = metadata.requires("fairseq")
    assert "hydra-core<1.4,>=1.3" in requires and "omegaconf<2.4,>=2.3" in requires
    assert not any(r.startswith("torchaudio") for r in requires)
