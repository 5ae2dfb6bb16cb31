"""``--xlmr-pretrain-updates N``: the tiny XLM-R fixture masked-LM pretrained, in xlmr.base's on-disk format."""
import json
import os

import pytest
import torch

from fairseq_xlgen.cli import make_fixtures
from fairseq_xlgen.testbed.pretrained_fixtures import build_fixtures, masked_lm_accuracy
from fairseq_xlgen.testbed.sizes import TinyModelConfig
from fairseq_xlgen.testbed.synthetic_benchmark import LANGUAGES


def _raw_state(model_dir):
    return torch.load(os.path.join(model_dir, "model.pt"), map_location="cpu", weights_only=False)


def _heldout(benchmark_dir, lang):
    """Test-split sentences of a translation direction: text the pretraining never saw."""
    pair = "en_XX-de_DE" if lang in ("en_XX", "de_DE") else f"en_XX-{lang}"
    path = os.path.join(benchmark_dir, "tasks", "translation", pair, f"test.{lang}")
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f]


def test_default_config_keeps_the_random_xlmr_sizes():
    cfg = TinyModelConfig()
    assert cfg.xlmr_pretrain_updates == 0
    assert (cfg.xlmr_embed_dim, cfg.xlmr_ffn_dim, cfg.xlmr_layers, cfg.xlmr_heads) == (
        cfg.embed_dim, cfg.ffn_dim, cfg.layers, cfg.heads)


def test_cli_rejects_a_missing_heldout_file_before_any_work(tmp_path, capsys):
    corpus = tmp_path / "en_XX.txt"
    corpus.write_text("a b c .\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        make_fixtures.main(["--out", str(tmp_path / "fx"), "--corpus", str(corpus),
                            "--xlmr-heldout", str(tmp_path / "missing.txt")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --xlmr-heldout") and "missing.txt: no such file" in err
    assert not (tmp_path / "fx").exists()


@pytest.mark.slow
def test_pretrained_xlmr_fixture_loads_in_legacy_format_and_learned(benchmark_dir, pretrained_dir, tmp_path,
                                                                     monkeypatch):
    from fairseq.models.roberta import XLMRModel

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    n = 20
    corpus = [os.path.join(benchmark_dir, "mono", f"{lang}.txt") for lang in LANGUAGES]
    settings = build_fixtures(str(tmp_path / "fx"), corpus, TinyModelConfig(xlmr_pretrain_updates=n))
    assert settings["pretrain_seconds"]["xlmr"] > 0
    random_dir, trained_dir = os.path.join(pretrained_dir, "xlmr.base"), str(tmp_path / "fx" / "xlmr.base")
    assert sorted(os.listdir(trained_dir)) == sorted(os.listdir(random_dir))
    random_state, state = _raw_state(random_dir), _raw_state(trained_dir)
    # xlmr.base's format: legacy key names and fused attention projections, args namespace
    assert vars(state["args"]) == vars(random_state["args"]) and state["args"].task == "masked_lm"
    assert state["optimizer_history"][-1]["num_updates"] == n
    keys = set(state["model"])
    assert keys == set(random_state["model"])
    assert all(k.startswith(("decoder.sentence_encoder.", "decoder.lm_head.")) for k in keys)
    assert "decoder.sentence_encoder.emb_layer_norm.weight" in keys
    assert "decoder.sentence_encoder.layers.0.self_attn.in_proj_weight" in keys
    assert not [k for k in keys if "q_proj" in k or "layernorm_embedding" in k]
    # pretraining XLM-R leaves the mBART fixture as the random one
    mbart = _raw_state(str(tmp_path / "fx" / "mbart.cc25"))["model"]
    random_mbart = _raw_state(os.path.join(pretrained_dir, "mbart.cc25"))["model"]
    assert all(torch.equal(mbart[k], random_mbart[k]) for k in random_mbart)

    trained = XLMRModel.from_pretrained(trained_dir, checkpoint_file="model.pt")
    random = XLMRModel.from_pretrained(random_dir, checkpoint_file="model.pt")
    assert torch.equal(trained.model.encoder.sentence_encoder.embed_tokens.weight,
                       state["model"]["decoder.sentence_encoder.embed_tokens.weight"])
    for lang in LANGUAGES:  # incl. unspaced zh_CN and Cyrillic ru_RU
        lines = _heldout(benchmark_dir, lang)
        before, after = masked_lm_accuracy(random, lines), masked_lm_accuracy(trained, lines)
        assert after["masked"] == before["masked"] > 50
        assert after["loss"] < before["loss"] - 0.1, (lang, before, after)
    with open(tmp_path / "fx" / "fixtures.json") as f:
        assert json.load(f)["config"]["xlmr_pretrain_updates"] == n


def test_cli_rejects_parallel_files_that_are_not_aligned_before_any_work(tmp_path, capsys):
    corpus, src, tgt = tmp_path / "en_XX.txt", tmp_path / "a.ru_RU", tmp_path / "a.en_XX"
    corpus.write_text("a b c .\n", encoding="utf-8")
    src.write_text("один .\nдва .\n", encoding="utf-8")
    tgt.write_text("one .\n", encoding="utf-8")
    for flags, message in ((["--xlmr-pretrain-updates", "5"], f"--xlmr-parallel {src} {tgt}: 2 and 1 lines"),
                           ([], "--xlmr-parallel: used only by the XLM-R pretraining")):
        with pytest.raises(SystemExit) as exit_info:
            make_fixtures.main(["--out", str(tmp_path / "fx"), "--corpus", str(corpus),
                                "--xlmr-parallel", str(src), str(tgt), *flags])
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.startswith(f"error: {message}")
        assert not (tmp_path / "fx").exists()


def test_translation_lm_lines_join_each_pair_after_the_monolingual_lines(benchmark_dir, tmp_path):
    """``--xlmr-parallel``: one pretraining line per sentence pair, source pieces then target pieces."""
    import sentencepiece as spm

    from fairseq_xlgen.testbed.pretrained_fixtures import (_binarize_corpus, train_sentencepiece,
                                                       write_fairseq_dictionary)

    mono = [os.path.join(benchmark_dir, "mono", f"{lang}.txt") for lang in LANGUAGES]
    spm_model = str(tmp_path / "spm.model")
    train_sentencepiece(mono, spm_model, 2000)
    parallel = []
    for lang in ("ru_RU", "zh_CN"):  # Cyrillic and unspaced Han beside English
        files = []
        for side in ("en_XX", lang):
            path = tmp_path / f"pair.en_XX-{lang}.{side}"
            path.write_text("\n".join(_heldout(benchmark_dir, side)[:3]) + "\n", encoding="utf-8")
            files.append(str(path))
        parallel.append(tuple(files))
    dict_path = tmp_path / "dict.txt"
    write_fairseq_dictionary(spm_model, mono, str(dict_path))
    sp = spm.SentencePieceProcessor(model_file=spm_model)
    encoded = tmp_path / "all.spm"
    _binarize_corpus(mono[:1], spm_model, str(dict_path), str(encoded), str(tmp_path / "bin"),
                          str(tmp_path / "log"), parallel=parallel)
    lines = encoded.read_text(encoding="utf-8").splitlines()
    with open(mono[0], encoding="utf-8") as f:
        n_mono = sum(1 for line in f if line.strip())
    assert len(lines) == n_mono + 6
    pieces = lambda text: sp.encode(text, out_type=str)  # noqa: E731
    for k, (en_file, other_file) in enumerate(parallel):
        en, other = (open(p, encoding="utf-8").read().splitlines() for p in (en_file, other_file))
        for i in range(3):
            assert lines[n_mono + 3 * k + i].split() == pieces(en[i]) + pieces(other[i])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in lines[-1]) and any("а" <= ch <= "я" for ch in lines[n_mono])
    assert os.path.isfile(tmp_path / "bin" / "train.bin")
