"""``mbart_laft`` (paper 001): exact parameter counts and trainable sets per variant and stage,
components loading and its errors, the frozen backbone, and xlgen-language-components."""
import argparse
import os
import subprocess

import pytest
import torch
from fairseq.data import Dictionary
from fairseq.models import ARCH_CONFIG_REGISTRY, ARCH_MODEL_REGISTRY

from fairseq_xlgen.analysis import language_component_estimation
from fairseq_xlgen.data.language_components_file import load_components
from fairseq_xlgen.errors import InputError, InputFileError
from fairseq_xlgen.pretrained import MBART_CC25_LANGS
from fairseq_xlgen.modules.language_components import mean_pool, sentence_token_mask

from conftest import REPO, tool_env

MBART_LARGE_CC25 = 610_851_840
TASK_MODULE_LARGE = 25_192_448  # two mBART-large encoder layers, no final LayerNorm
FUSION_LARGE = 3_147_776
ADAPTER_LARGE = 1_052_160  # bottleneck 512 = d/2 (Pfeiffer et al. 2020b): 2 × 1024·512 + 512 + 1024 + LayerNorm 2,048
ADAPTERS_LARGE_ONE_LANGUAGE = 12 * ADAPTER_LARGE  # after each of the 12 decoder layers: 12,625,920
PAPER_LANGS, RECIPE_LANGS = "en_XX,zh_CN,fr_XX", "en_XX,de_DE,ru_RU,zh_CN"  # paper 001 §4; examples/laft/run.sh
LAFT_BACKBONE_LARGE = MBART_LARGE_CC25 + TASK_MODULE_LARGE + FUSION_LARGE


class FakeTask:
    def __init__(self, dictionary):
        self.source_dictionary = self.target_dictionary = dictionary


def mbart_dictionary(rows=None, dict_txt=None):
    """mBART's dictionary as translation_from_pretrained_bart builds it: dict.txt, 25 [lang], <mask>."""
    d = Dictionary.load(dict_txt) if dict_txt else Dictionary()
    for i in range((rows or 0) - len(d) - len(MBART_CC25_LANGS) - 1):
        d.add_symbol(f"w{i}")
    for lang in MBART_CC25_LANGS:
        d.add_symbol(f"[{lang}]")
    d.add_symbol("<mask>")
    return d


def build(arch, dictionary, **options):
    args = argparse.Namespace(arch=arch, task="translation_from_pretrained_bart", layernorm_embedding=True, encoder_normalize_before=True,
                              decoder_normalize_before=True, **options)
    ARCH_CONFIG_REGISTRY[arch](args)
    return ARCH_MODEL_REGISTRY[arch].build_model(args, FakeTask(dictionary))


def counts(model):
    return (sum(p.numel() for p in model.parameters()),
            sum(p.numel() for p in model.parameters() if p.requires_grad))


@pytest.fixture(scope="module")
def cc25_dictionary():
    return mbart_dictionary(rows=250_027)


@pytest.mark.parametrize("arch, options, total, trainable", [
    ("mbart_laft_large", {"laft_langs": PAPER_LANGS, "laft_stage": 2},
     LAFT_BACKBONE_LARGE + 3 * ADAPTERS_LARGE_ONE_LANGUAGE, TASK_MODULE_LARGE),
    ("mbart_laft_large", {"laft_langs": RECIPE_LANGS, "laft_stage": 2}, 689_695_744, TASK_MODULE_LARGE),
    ("mbart_laft_large", {"laft_langs": RECIPE_LANGS, "laft_stage": 1},
     689_695_744, TASK_MODULE_LARGE + FUSION_LARGE + 4 * ADAPTERS_LARGE_ONE_LANGUAGE),
    ("mbart_laft_large", {"laft_variant": "full"}, MBART_LARGE_CC25, MBART_LARGE_CC25),
    # 12 layers 151,154,688 + positions 1,050,624 + layernorm_embedding and final LayerNorm 4,096
    ("mbart_laft_large", {"laft_variant": "enc"}, MBART_LARGE_CC25, 152_209_408),
    ("mbart_laft_large", {"laft_variant": "enc_top2"}, MBART_LARGE_CC25, TASK_MODULE_LARGE),
    # the default bottleneck d/2 = 512, a task adapter after each of the 24 layers: 24 × 1,052,160
    ("mbart_laft_large", {"laft_variant": "adapter"}, MBART_LARGE_CC25 + 25_251_840, 25_251_840),
    # TM + gate W_g, b_g (2,049) + classifier W_c (1,024), whole model trained
    ("mbart_tm_adv_large", {}, MBART_LARGE_CC25 + TASK_MODULE_LARGE + 3_073, MBART_LARGE_CC25 + TASK_MODULE_LARGE + 3_073),
])
def test_parameter_counts_of_mbart_large_configs(cc25_dictionary, monkeypatch, arch, options, total, trainable):
    """Random-init full-size configs, built on the meta device (counts need no weights)."""
    import fairseq.models.bart.model as bart

    monkeypatch.setattr(bart, "init_bert_params", lambda module: None)  # meta tensors cannot be initialized
    with torch.device("meta"):
        model = build(arch, cc25_dictionary, **options)
    assert counts(model) == (total, trainable)


def test_trainable_shares_of_table_3():
    """Table 3's LAFT share (paper: 3.8%) depends on the number of --laft-langs (one decoder adapter set
    each): 3.72% with the paper's en, zh, fr, 3.65% with the recipe's four; enc top-2 (= the task
    module's size) is 4.12% of mBART-large (paper: 3.8%; its denominator cannot be recovered)."""
    assert round(100 * TASK_MODULE_LARGE / (LAFT_BACKBONE_LARGE + 3 * ADAPTERS_LARGE_ONE_LANGUAGE), 2) == 3.72
    assert round(100 * TASK_MODULE_LARGE / (LAFT_BACKBONE_LARGE + 4 * ADAPTERS_LARGE_ONE_LANGUAGE), 2) == 3.65
    assert round(100 * TASK_MODULE_LARGE / MBART_LARGE_CC25, 2) == 4.12
    assert round(100 * 25_251_840 / MBART_LARGE_CC25, 2) == 4.13  # Adapter baseline (paper: 4.3%)
    assert round(100 * 152_209_408 / MBART_LARGE_CC25, 1) == 24.9  # enc: the paper says 19.2%


@pytest.fixture(scope="module")
def tiny_dictionary(pretrained_dir):
    return mbart_dictionary(dict_txt=os.path.join(pretrained_dir, "mbart.cc25", "dict.txt"))


@pytest.fixture
def fixture_state(pretrained_dir):
    """A fresh copy each time: loading upgrades the dict in place (fairseq's convention)."""
    return torch.load(os.path.join(pretrained_dir, "mbart.cc25", "model.pt"), weights_only=False)["model"]


def tiny_laft(dictionary, components, **options):
    options = {"laft_langs": "en_XX,zh_CN,ru_RU", "language_components": components, "dropout": 0.0,
               "attention_dropout": 0.0, **options}
    return build("mbart_laft_tiny", dictionary, **options)


@pytest.mark.parametrize("variant, stage, trainable_prefixes", [
    ("laft", 1, ("encoder.task_module.", "encoder.fusion.", "decoder.layers.0.adapters.", "decoder.layers.1.adapters.")),
    ("laft", 2, ("encoder.task_module.",)),
    ("enc_top2", 2, ("encoder.layers.0.", "encoder.layers.1.")),  # the tiny model has 2 encoder layers
    ("adapter", 2, ("encoder.layers.0.adapters.", "encoder.layers.1.adapters.",
                    "decoder.layers.0.adapters.", "decoder.layers.1.adapters.")),
])
def test_exact_trainable_sets(tiny_dictionary, laft_components, variant, stage, trainable_prefixes):
    model = tiny_laft(tiny_dictionary, laft_components, laft_variant=variant, laft_stage=stage)
    for name, parameter in model.named_parameters():
        assert parameter.requires_grad == name.startswith(trainable_prefixes), name
    if variant == "laft":
        assert sorted(model.decoder.layers[0].adapters.adapters) == ["en_XX", "ru_RU", "zh_CN"]


def test_enc_variant_trains_the_encoder_but_not_the_shared_embedding(tiny_dictionary, laft_components):
    model = tiny_laft(tiny_dictionary, laft_components, laft_variant="enc")
    assert model.decoder.embed_tokens.weight is model.encoder.embed_tokens.weight
    assert not model.encoder.embed_tokens.weight.requires_grad
    assert all(p.requires_grad == n.startswith("encoder.") for n, p in model.named_parameters()
               if not n.startswith("encoder.embed_tokens."))


def batch(dictionary, src_lang, tgt_lang, lengths=(7, 4)):
    """Left-padded sources ``x </s> [src]`` and decoder inputs ``[tgt] y``."""
    torch.manual_seed(5)
    rows = [torch.cat([torch.randint(10, 200, (n,)), torch.tensor([dictionary.eos(), dictionary.index(f"[{src_lang}]")])])
            for n in lengths]
    width = max(len(r) for r in rows)
    src = torch.stack([torch.cat([torch.full((width - len(r),), dictionary.pad()), r]) for r in rows])
    prev = torch.cat([torch.full((len(rows), 1), dictionary.index(f"[{tgt_lang}]")),
                      torch.randint(10, 200, (len(rows), 5))], 1)
    return src, torch.tensor([len(r) for r in rows]), prev


@pytest.mark.parametrize("src_lang", ["zh_CN", "ru_RU"])
def test_removal_inside_the_model_uses_the_source_languages_components(
        tiny_dictionary, laft_components, fixture_state, src_lang):
    model = tiny_laft(tiny_dictionary, laft_components).eval()
    model.load_state_dict(fixture_state)
    seen = {}
    model.encoder.task_module.register_forward_pre_hook(lambda module, inputs: seen.update(r=inputs[0]))
    src, lengths, prev = batch(tiny_dictionary, src_lang, src_lang)
    logits, _ = model(src, lengths, prev)
    assert logits.shape == (2, 6, len(tiny_dictionary))
    c = load_components(laft_components)["languages"][src_lang]["components"]
    mean = mean_pool(seen["r"], sentence_token_mask(src, model.encoder.special_token_ids))
    assert (mean @ c).abs().max() < 1e-4  # the language's components are gone from ē
    assert model.decoder.selection.rows.tolist() == [["en_XX", "zh_CN", "ru_RU"].index(src_lang)] * 2


def test_unlisted_language_token_is_a_clear_error(tiny_dictionary, laft_components, fixture_state):
    model = tiny_laft(tiny_dictionary, laft_components)
    model.load_state_dict(fixture_state)
    with pytest.raises(InputError, match="source language token is not one of the model's --laft-langs"):
        model(*batch(tiny_dictionary, "de_DE", "zh_CN"))


def test_components_errors(tiny_dictionary, laft_components, fixture_state, tmp_path):
    with pytest.raises(InputFileError, match="no components for ja_XX"):
        tiny_laft(tiny_dictionary, laft_components, laft_langs="en_XX,ja_XX")
    with pytest.raises(InputFileError, match="k=6 components per language, --laft-k is 8"):
        tiny_laft(tiny_dictionary, laft_components, laft_k=8)
    payload = torch.load(laft_components, weights_only=True)
    wrong_d = tmp_path / "wrong_d.pt"
    torch.save({**payload, "embed_dim": 32, "languages": {
        lang: {**e, "components": e["components"][:32]} for lang, e in payload["languages"].items()}}, wrong_d)
    with pytest.raises(InputFileError, match="components of dimension 32, the model has 64"):
        tiny_laft(tiny_dictionary, str(wrong_d))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(open(laft_components, "rb").read()[:200])
    with pytest.raises(InputFileError, match="not a readable language-components file"):
        tiny_laft(tiny_dictionary, str(truncated))

    other_model = dict(fixture_state)
    other_model["encoder.layers.0.fc1.weight"] = other_model["encoder.layers.0.fc1.weight"] + 1e-3
    with pytest.raises(InputError, match="estimated with another model"):
        tiny_laft(tiny_dictionary, laft_components).load_state_dict(other_model)
    with pytest.raises(InputFileError, match="language-components file not found"):
        tiny_laft(tiny_dictionary, str(tmp_path / "missing.pt")).load_state_dict(fixture_state)


def test_laft_checkpoint_keeps_its_components_without_the_file(tiny_dictionary, laft_components, fixture_state, tmp_path):
    model = tiny_laft(tiny_dictionary, laft_components)
    model.load_state_dict(fixture_state)
    saved = model.state_dict()
    reloaded = tiny_laft(tiny_dictionary, str(tmp_path / "deleted.pt"))
    reloaded.load_state_dict(saved)
    assert torch.equal(reloaded.encoder.language_components, model.encoder.language_components)
    assert reloaded.encoder.components_source == "checkpoint"


def test_stage_2_update_changes_only_the_task_module(tiny_dictionary, laft_components, fixture_state):
    model = tiny_laft(tiny_dictionary, laft_components, laft_stage=2)
    model.load_state_dict(fixture_state)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    logits, _ = model(*batch(tiny_dictionary, "en_XX", "en_XX"))
    logits.float().logsumexp(-1).mean().backward()
    optimizer.step()
    changed = {key for key, value in model.state_dict().items() if not torch.equal(value, before[key])}
    assert "encoder.task_module.layers.1.fc2.weight" in changed
    assert all(key.startswith("encoder.task_module.") for key in changed), changed  # the backbone is bit-identical


def test_estimation_resumes_after_interruption_with_identical_components(benchmark_dir, pretrained_dir, tmp_path,
                                                                         monkeypatch):
    texts = {lang: os.path.join(benchmark_dir, "mono", lang + ".txt") for lang in ("zh_CN", "ru_RU")}

    def estimate(out):
        return language_component_estimation.estimate_components(
            os.path.join(pretrained_dir, "mbart.cc25"), texts, out, batch_size=16, save_every=32, max_sentences=200,
            progress=False)

    straight = estimate(str(tmp_path / "a.pt"))

    calls = {"n": 0}
    original = language_component_estimation.Estimator.sentence_vectors

    def dying(self, lines, lang):
        calls["n"] += 1
        if calls["n"] == 18:  # second language, after a resume point
            raise KeyboardInterrupt
        return original(self, lines, lang)

    out = str(tmp_path / "b.pt")
    monkeypatch.setattr(language_component_estimation.Estimator, "sentence_vectors", dying)
    with pytest.raises(KeyboardInterrupt):
        estimate(out)
    assert os.path.exists(out + ".partial") and not os.path.exists(out)
    monkeypatch.setattr(language_component_estimation.Estimator, "sentence_vectors", original)
    resumed = estimate(out)
    assert not os.path.exists(out + ".partial")
    for lang in ("zh_CN", "ru_RU"):
        assert resumed[lang]["sentences"] == straight[lang]["sentences"] == 200
        assert torch.allclose(resumed[lang]["components"], straight[lang]["components"], atol=1e-5)
    assert load_components(out)["encoder_fingerprint"] == load_components(str(tmp_path / "a.pt"))["encoder_fingerprint"]


@pytest.mark.parametrize("text, message", [
    ("xx_YY={mono}", "[xx_YY] is not a language of"),
    ("en_XX={missing}", "text of en_XX not found"),
    ("en_XX", "expected LANG=FILE"),
    ("en_XX={latin1}", "not valid UTF-8"),
])
def test_cli_bad_input_is_one_line_and_writes_nothing(benchmark_dir, pretrained_dir, tmp_path, text, message):
    import subprocess

    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9 au lait\n".encode("latin-1") * 10)
    text = text.format(mono=os.path.join(benchmark_dir, "mono", "en_XX.txt"), missing=tmp_path / "nope.txt",
                       latin1=latin1)
    out = tmp_path / "out.pt"
    proc = subprocess.run(["xlgen-language-components", "--model-dir", os.path.join(pretrained_dir, "mbart.cc25"),
                           "--out", str(out), "--no-progress", "--text", text],
                          capture_output=True, text=True, env=tool_env())
    assert proc.returncode == 2
    assert message in proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_removal_brings_the_language_means_together(tiny_dictionary, laft_components, fixture_state, benchmark_dir,
                                                     pretrained_dir):
    """Figure 2 (a) → (b): after removal the languages' sentence means lie closer than in the encoder output."""
    from fairseq_xlgen.analysis.laft_representations import pooled_laft_states
    from fairseq_xlgen.pretrained import load_sentencepiece

    model = tiny_laft(tiny_dictionary, laft_components)
    model.load_state_dict(fixture_state)
    sp = load_sentencepiece(os.path.join(pretrained_dir, "mbart.cc25", "sentence.bpe.model"))
    pieces = {}
    for lang in ("en_XX", "zh_CN", "ru_RU"):
        with open(os.path.join(benchmark_dir, "mono", f"{lang}.txt"), encoding="utf-8") as f:
            pieces[lang] = [" ".join(sp.encode(line.strip(), out_type=str)) for line in list(f)[:60]]
    panels = pooled_laft_states(model, tiny_dictionary, pieces)

    def mean_gap(vectors, labels):
        means = {lang: vectors[[i for i, l in enumerate(labels) if l == lang]].mean(0) for lang in pieces}
        return sum((means[a] - means[b]).norm() for a, b in (("en_XX", "zh_CN"), ("en_XX", "ru_RU"), ("zh_CN", "ru_RU")))

    before = mean_gap(*panels["encoder output"])
    after = mean_gap(*panels["after removal"])
    assert after < 0.5 * before, (before, after)


def test_half_precision_keeps_the_components_in_fp32(tiny_dictionary, laft_components):
    model = tiny_laft(tiny_dictionary, laft_components)
    components = model.encoder.language_components.clone()
    model.half()
    assert model.encoder.embed_tokens.weight.dtype == torch.float16
    assert model.encoder.language_components.dtype == torch.float32
    assert torch.equal(model.encoder.language_components, components)
    assert torch.equal(model.state_dict()["encoder.language_components"], components)


@pytest.mark.parametrize("num_updates, adversary_active", [(4, True), (5, False)])
def test_adversary_every_k_updates_and_its_weight(tiny_dictionary, num_updates, adversary_active):
    """--adversary-every 2 --adversary-weight 0.5: L = L_gen + (L_cls + 0.5·L_adv)·tokens/texts on even
    updates, L_gen + L_cls·tokens/texts on odd ones (two classifier steps per adversary step)."""
    from fairseq_xlgen.criterions.language_adversarial import LanguageAdversarialCriterion

    d = tiny_dictionary
    model = build("mbart_tm_adv_tiny", d, dropout=0.0, attention_dropout=0.0)
    criterion = LanguageAdversarialCriterion(FakeTask(d), False, 0.0, "en_XX", adversary_weight=0.5, adversary_every=2)
    en, zh, eos = d.index("[en_XX]"), d.index("[zh_CN]"), d.eos()
    sample = {"net_input": {"src_tokens": torch.tensor([[10, 11, 12, eos, en], [13, 14, 15, eos, zh]]),
                            "src_lengths": torch.tensor([5, 5]),
                            "prev_output_tokens": torch.tensor([[en, 10, 11], [zh, 13, 14]])},
              "target": torch.tensor([[10, 11, eos], [13, 14, eos]]), "ntokens": 6}
    model.train()
    model.set_num_updates(num_updates)
    loss, sample_size, log = criterion(model, sample)
    expected = log["nll_loss"] + (log["cls_loss"] + (0.5 * log["adv_loss"] if adversary_active else 0)) * 6 / 2
    assert sample_size == 6 and log["cls_texts"] == 2
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("size, stage1, expected", [
    ("small", "0", "STAGE1_UPDATES 0: give a positive number of updates"),
    ("small", "1.5k", "STAGE1_UPDATES 1.5k: give a positive number of updates"),
    ("huge", "", "SIZE huge: choose tiny, small or base")])
def test_recipe_refuses_bad_settings_before_any_work(tmp_path, size, stage1, expected):
    """examples/laft/run.sh: a one-line error and exit 2 before the benchmark or any data is written."""
    result = subprocess.run(["bash", os.path.join(REPO, "examples", "laft", "run.sh"), tmp_path / "work", size],
                            capture_output=True, text=True, env=tool_env(STAGE1_UPDATES=stage1))  # '': SIZE's
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [f"error: {expected}"]
    assert not (tmp_path / "work").exists()
