"""``xlmr_sga`` (paper 003): parameter counts, frozen backbone, decoding loop, batching, checkpoints."""
import itertools
import math
import os
import types

import pytest
import torch
from fairseq.data import Dictionary
from fairseq.iterative_refinement_generator import IterativeRefinementGenerator
from omegaconf import OmegaConf

from fairseq_xlgen.criterions.sga_ctc import SgaCtcCriterion
from fairseq_xlgen.data.source_language_dataset import parse_lang_pairs
from fairseq_xlgen.errors import InputError
from fairseq_xlgen.models.xlmr_sga import XlmrSgaConfig, XlmrSgaModel, xlmr_sga_base, xlmr_sga_large
from fairseq_xlgen.modules.ctc import blank_rule_argmax
from fairseq_xlgen.pretrained import PretrainedModelError
from fairseq_xlgen.tasks.sga_translation import SgaTranslationTask


def xlmr_dictionary(words=40):
    d = Dictionary()
    for i in range(words):
        d.add_symbol(f"▁w{i}")
    d.add_symbol("<mask>")
    return d


def _task(dictionary):
    return types.SimpleNamespace(source_dictionary=dictionary, target_dictionary=dictionary)


def build(dictionary, seed=0, **overrides):
    sizes = dict(encoder_layers=2, encoder_embed_dim=16, encoder_ffn_embed_dim=32, encoder_attention_heads=4,
                 max_positions=64, prompt_length=4, seed=1, lang_pairs="", source_lang=None)
    sizes.update(overrides)
    torch.manual_seed(seed)
    return XlmrSgaModel.build_model(OmegaConf.structured(XlmrSgaConfig(**sizes)), _task(dictionary))


def _full_size(monkeypatch, arch, **overrides):
    monkeypatch.setattr("fairseq.models.roberta.model.init_bert_params", lambda module: None)  # meta tensors
    args = types.SimpleNamespace()
    arch(args)
    cfg = XlmrSgaConfig(seed=1, lang_pairs="", source_lang=None, **vars(args), **overrides)
    with torch.device("meta"):  # shapes only: no memory, no initialization time
        model = XlmrSgaModel.build_model(OmegaConf.structured(cfg), _task(xlmr_dictionary()))
    trainable = {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}
    return model, trainable


@pytest.mark.parametrize("arch,denoising,expected", [
    (xlmr_sga_base, True, 8_257_536), (xlmr_sga_base, False, 5_898_240),
    (xlmr_sga_large, True, 20_971_520), (xlmr_sga_large, False, 14_680_064),
])
def test_trainable_parameter_counts_match_table_1(monkeypatch, arch, denoising, expected):
    """3 (or 2) units x K,V x L x P=128 x d, plus bias-free W_K, W_V (d x d): the paper's 8M/6M/21M/15M."""
    model, trainable = _full_size(monkeypatch, arch, no_denoising=not denoising)
    assert sum(trainable.values()) == expected
    assert not any(name.startswith("xlmr.") for name in trainable)
    layers, dim = (12, 768) if arch is xlmr_sga_base else (24, 1024)
    assert len(model.xlmr.encoder.sentence_encoder.layers) == layers
    assert trainable["project_key.weight"] == dim * dim


def test_mask_predict_adds_only_the_length_predictor(monkeypatch):
    _, trainable = _full_size(monkeypatch, xlmr_sga_base, alignment="mask_predict")
    assert sum(trainable.values()) == 8_257_536 + 768 * 257 + 257  # Linear(d, 256 + 1 lengths)


def test_per_language_prompts_multiply_only_the_prompts(monkeypatch):
    """3 languages x 3 units x {K, V} x 12 layers x P=128 x d=768 = 21,233,664, plus one W_K, W_V (2 x 768²)."""
    model, trainable = _full_size(monkeypatch, xlmr_sga_base, prompt_languages="de_DE,ru_RU,zh_CN")
    assert sum(trainable.values()) == 21_233_664 + 1_179_648 == 22_413_312
    assert model.prompts["semantic_key"].shape == (3, 12, 128, 768)


def _mixed_language_loss(model, d, src_langs):
    sample = _sample(d)
    sample["net_input"]["src_lang"] = src_langs
    return SgaCtcCriterion(_task(d), 0.1, 0.1)(model, sample)[0]


@pytest.mark.parametrize("prompt_languages, lang_pairs, refused", [
    ("", "de_DE-en_XX,ru_RU-en_XX,zh_CN-en_XX", None),
    ("", "de_DE-en_XX,ru_RU-zh_CN", "target languages en_XX,zh_CN behind one shared prompt set"),
    ("de_DE,en_XX", "de_DE-en_XX,en_XX-de_DE", None),  # each source's prompts write one language
    ("de_DE,en_XX", "de_DE-en_XX,en_XX-de_DE,de_DE-ru_RU", "target languages en_XX,ru_RU behind the prompts of de_DE"),
])
def test_one_target_language_per_prompt_set(prompt_languages, lang_pairs, refused):
    cfg = XlmrSgaConfig(prompt_languages=prompt_languages)
    pairs = parse_lang_pairs(lang_pairs)
    if refused is None:
        XlmrSgaModel.check_one_target_per_prompt_set(cfg, pairs, lang_pairs)
    else:
        with pytest.raises(InputError, match=f"--lang-pairs {lang_pairs}: {refused}"):
            XlmrSgaModel.check_one_target_per_prompt_set(cfg, pairs, lang_pairs)


def test_each_sample_trains_only_its_own_languages_prompts():
    d = xlmr_dictionary()
    model = build(d, seed=2, prompt_languages="ru_RU,zh_CN,de_DE").train()
    for src_langs, used in ((["ru_RU", "ru_RU"], {0}), (["zh_CN", "ru_RU"], {0, 1}), (["zh_CN", "zh_CN"], {1})):
        model.zero_grad()
        _mixed_language_loss(model, d, src_langs).backward()
        for name, p in model.prompts.items():
            touched = {i for i in range(3) if p.grad[i].abs().sum() > 0}
            assert touched == used, (name, src_langs)
        assert model.project_key.weight.grad.abs().sum() > 0  # W_K/W_V stay shared
    with pytest.raises(InputError, match=r"--source-lang kk_KZ: no prompts of its own \(--prompt-languages ru_RU,"):
        _mixed_language_loss(model, d, ["kk_KZ", "ru_RU"])
    with pytest.raises(InputError, match="names no source language"):
        _mixed_language_loss(model, d, None)


def test_a_row_decodes_with_its_own_languages_prompts():
    d = xlmr_dictionary()
    model = build(d, seed=2, prompt_languages="ru_RU,zh_CN").eval()
    src = _sources(d)[:2]

    def logits(src_langs):
        with torch.no_grad():
            encoder_out = model.encode(src, src_langs)
            return model.unit_logits("alignment", model.alignment_canvas(encoder_out)[0], encoder_out)

    ru, zh, mixed = logits(["ru_RU"] * 2), logits(["zh_CN"] * 2), logits(["zh_CN", "ru_RU"])
    assert not torch.allclose(ru, zh, atol=1e-3)
    assert torch.allclose(mixed[0], zh[0], atol=1e-5) and torch.allclose(mixed[1], ru[1], atol=1e-5)
    task = SgaTranslationTask(types.SimpleNamespace(), d, d)

    def decode(rows, src_langs):  # fairseq-generate's path: task.inference_step with the batch's src_lang
        tokens = [src[i][src[i].ne(d.pad())] for i in rows]
        batch = torch.nn.utils.rnn.pad_sequence(tokens, batch_first=True, padding_value=d.pad())
        sample = {"net_input": {"src_tokens": batch, "src_lengths": batch.ne(d.pad()).sum(1), "src_lang": src_langs}}
        return [h[0]["tokens"].tolist() for h in task.inference_step(_generator(d, 2), [model], sample)]

    assert decode([0, 1], ["zh_CN", "ru_RU"]) == decode([0], ["zh_CN"]) + decode([1], ["ru_RU"])
    with torch.no_grad():  # the same prompts in both sets: the language no longer matters
        for p in model.prompts.values():
            p[1] = p[0]
    assert torch.allclose(logits(["ru_RU"] * 2), logits(["zh_CN"] * 2), atol=1e-5)


def _sample(dictionary):
    bos, eos, pad = dictionary.bos(), dictionary.eos(), dictionary.pad()
    src = torch.tensor([[bos, 5, 6, 7, 8, eos], [bos, 9, 10, eos, pad, pad]])
    tgt = torch.tensor([[bos, 11, 12, 13, eos], [bos, 14, 14, eos, pad]])
    return {"id": torch.tensor([0, 1]), "target": tgt,
            "net_input": {"src_tokens": src, "src_lengths": src.ne(pad).sum(1), "prev_output_tokens": tgt}}


@pytest.mark.parametrize("alignment", ["ctc", "mask_predict"])
def test_training_step_leaves_every_xlmr_weight_bit_identical(alignment):
    d = xlmr_dictionary()
    model = build(d, alignment=alignment, max_target_length=8)
    model.train()
    before = {n: p.detach().clone() for n, p in model.xlmr.named_parameters()}
    trainable_before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    # fairseq's trainer hands the optimizer exactly the parameters with requires_grad
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1, weight_decay=0.1)
    criterion = SgaCtcCriterion(_task(d), label_smoothing=0.1, length_loss_factor=0.1)
    loss, sample_size, logs = criterion(model, _sample(d))
    assert loss.item() > 0 and sample_size == 5 and logs["l2"] > 0
    loss.backward()
    optimizer.step()
    for name, p in model.xlmr.named_parameters():
        assert p.grad is None and torch.equal(p, before[name]), name
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert not torch.equal(p, trainable_before[name]), name


def test_targets_longer_than_the_canvas_are_counted_not_cut():
    d = xlmr_dictionary()
    model = build(d)
    sample = _sample(d)
    bos, eos = d.bos(), d.eos()
    sample["target"] = torch.tensor([[bos] + list(range(4, 30)) + [eos], [bos, 14, eos] + [d.pad()] * 25])
    _, _, logs = SgaCtcCriterion(_task(d), 0.1, 0.1)(model, sample)
    assert logs["ctc_too_long"] == 1  # 26 pieces on a canvas of 2 x 4


def _generator(d, max_iter, **kw):
    return IterativeRefinementGenerator(d, max_iter=max_iter, **kw)


def _generate(model, d, src, max_iter=4, **kw):
    sample = {"net_input": {"src_tokens": src, "src_lengths": src.ne(d.pad()).sum(1)}}
    return [h[0] for h in _generator(d, max_iter, **kw).generate([model], sample)]


def _hand_loop(model, src_row, max_iter):
    """The paper's loop, unrolled by hand for one sentence: align, then denoise until the output repeats."""
    bos, eos, blank = model.bos, model.eos, model.blank
    with torch.no_grad():
        encoder_out = model.encode(src_row.unsqueeze(0))
        pieces = int(src_row.ne(model.pad).sum()) - 2
        canvas = [bos] + [blank] * (2 * pieces) + [eos]
        outputs = []
        for step in range(max_iter + 1):
            unit = "alignment" if step == 0 else "denoising"
            logits = model.unit_logits(unit, torch.tensor([canvas]), encoder_out)[0, 1:-1]
            lprobs = logits.float().masked_fill(model.excluded_ctc, float("-inf")).log_softmax(-1)
            tokens, _ = blank_rule_argmax(lprobs, blank, model.cfg.blank_threshold)
            canvas = [bos] + tokens.tolist() + [eos]
            output = [bos] + [t for t, _ in itertools.groupby(tokens.tolist()) if t != blank] + [eos]
            if outputs and output == outputs[-1]:
                return output, step
            outputs.append(output)
    return outputs[-1], max_iter


def _sources(d):
    bos, eos, pad = d.bos(), d.eos(), d.pad()
    rows = [[bos, 5, 6, 7, 8, 9, eos], [bos, 10, 11, eos], [bos, 12, 13, 14, 15, eos], [bos, 16, eos]]
    width = max(map(len, rows))
    return torch.tensor([r + [pad] * (width - len(r)) for r in rows])


def test_generator_equals_hand_unrolled_loop_at_any_batch_size():
    d = xlmr_dictionary()
    model = build(d, seed=3, blank_threshold=0.3).eval()
    src = _sources(d)
    batched = _generate(model, d, src, max_iter=6)
    for i, hypo in enumerate(batched):
        row = src[i][src[i].ne(d.pad())]
        single = _generate(model, d, row.unsqueeze(0), max_iter=6)[0]
        assert torch.equal(hypo["tokens"], single["tokens"]) and hypo["steps"] == single["steps"]
        tokens, steps = _hand_loop(model, row, max_iter=6)
        assert hypo["tokens"].tolist() == tokens and hypo["steps"] == steps


def test_semantic_padding_leaves_alignment_logits_unchanged():
    d = xlmr_dictionary()
    model = build(d, seed=4).eval()
    src = _sources(d)
    with torch.no_grad():
        batched = model.ctc_pass("alignment", model.alignment_canvas(model.encode(src))[0], model.encode(src))[0]
        for i in range(src.size(0)):
            row = src[i][src[i].ne(d.pad())].unsqueeze(0)
            enc = model.encode(row)
            single, lengths = model.ctc_pass("alignment", model.alignment_canvas(enc)[0], enc)
            assert torch.allclose(batched[i, : lengths[0]], single[0], atol=1e-5)


def _scripted_denoiser(model, rule):
    """Replace the denoising pass by a fixed rule on its input canvas (the alignment pass stays the model's)."""
    original = model.unit_logits

    def unit_logits(unit, tokens, encoder_out):
        logits = original(unit, tokens, encoder_out)
        if unit == "denoising":
            logits = torch.nn.functional.one_hot(rule(tokens), logits.size(-1)).float() * 50.0
        return logits

    model.unit_logits = unit_logits


def _scripted_alignment(model, probs):
    """Replace the alignment pass's logits by ``{canvas position: {token: probability}}`` (the rest ~0)."""
    original = model.unit_logits

    def unit_logits(unit, tokens, encoder_out):
        logits = original(unit, tokens, encoder_out)
        if unit == "alignment":
            logits = torch.full_like(logits, -50.0)
            for position, dist in probs.items():
                for token, p in dist.items():
                    logits[:, 1 + position, token] = math.log(p)
        return logits

    model.unit_logits = unit_logits


def test_alignment_without_a_denoising_pass_after_it_is_plain_ctc_greedy():
    """Canvas a | blank .5, b .4 | blank .55, c .3 | a: the blank rule reads "a b c a", argmax + collapse "a a"."""
    d = xlmr_dictionary()
    a, b, c, blank = 5, 6, 7, d.index("<mask>")
    probs = {0: {a: 0.9, b: 0.1}, 1: {blank: 0.5, b: 0.4, c: 0.1}, 2: {blank: 0.55, c: 0.3, a: 0.15}, 3: {a: 1.0}}
    src = torch.tensor([[d.bos(), 10, 11, d.eos()]])  # 2 pieces: a canvas of 4
    greedy = [d.bos(), a, a, d.eos()]
    ctc_only = build(d, no_denoising=True).eval()
    _scripted_alignment(ctc_only, probs)
    assert [h["tokens"].tolist() for h in (_generate(ctc_only, d, src, max_iter=m)[0] for m in (0, 10))] == [greedy] * 2
    sga = build(d).eval()
    _scripted_alignment(sga, probs)
    assert _generate(sga, d, src, max_iter=0)[0]["tokens"].tolist() == greedy  # no denoising budget
    with torch.no_grad():  # with a denoising pass to come, its input canvas keeps the rule
        encoder_out = sga.forward_encoder([src, None])
        start = sga.initialize_output_tokens(encoder_out, src)
        step0 = sga.forward_decoder(start._replace(step=0, max_step=2), encoder_out)
    assert step0.history[-1].tolist() == [[d.bos(), a, b, c, a, d.eos()]]


def test_generator_stops_at_the_fixed_point():
    d = xlmr_dictionary()
    model = build(d, seed=5).eval()
    src = _sources(d)
    _scripted_denoiser(model, lambda canvas: canvas)  # the denoiser reproduces its input
    hypos = _generate(model, d, src, max_iter=8)
    assert [h["steps"] for h in hypos] == [1, 1, 1, 1]  # step 0 aligns, step 1 changes nothing: stop
    assert [h["steps"] for h in _generate(model, d, src, max_iter=8, adaptive=False)] == [8] * 4
    blank = model.blank

    def shift(canvas):  # every real piece becomes the next one: the output never repeats
        moved = canvas.clone()
        real = (canvas >= d.nspecial) & canvas.ne(blank)
        moved[real] = d.nspecial + (canvas[real] - d.nspecial + 1) % (blank - d.nspecial)
        return moved

    _scripted_denoiser(model, shift)
    hypos = _generate(model, d, src, max_iter=5)
    assert all(h["steps"] == 5 for h in hypos if len(h["tokens"]) > 2)


def test_longest_sentence_finishing_first_leaves_the_others_decoding():
    """The generator drops finished sentences; the remaining canvases keep the batch's old width."""
    d = xlmr_dictionary()
    model = build(d, seed=5).eval()
    src = _sources(d)
    longest = int(model.alignment_canvas(model.encode(src))[1].max()) + 2

    def rule(canvas):  # the longest canvas is a fixed point at once, every other one keeps changing
        moved = canvas.clone()
        real = (canvas >= d.nspecial) & canvas.ne(model.blank) & canvas.ne(d.pad()).sum(1, keepdim=True).lt(longest)
        moved[real] = d.nspecial + (canvas[real] - d.nspecial + 1) % (model.blank - d.nspecial)
        return moved

    _scripted_denoiser(model, rule)
    steps = [h["steps"] for h in _generate(model, d, src, max_iter=4)]
    assert steps[0] == 1 and all(s in (1, 4) for s in steps[1:])


def test_noise_and_masks_depend_on_seed_update_and_sample_only():
    d = xlmr_dictionary()
    model = build(d, alignment="mask_predict", max_target_length=8).train()
    gold, lengths = model.body(_sample(d)["target"])
    first = model.mask_predict_masks(gold, lengths, torch.tensor([0, 1]))
    assert torch.equal(first, model.mask_predict_masks(gold, lengths, torch.tensor([0, 1])))
    swapped = model.mask_predict_masks(gold.flip(0), lengths.flip(0), torch.tensor([1, 0]))
    assert torch.equal(first, swapped.flip(0))  # a sentence's mask follows its id, not its batch slot
    assert (first.sum(1) >= 1).all() and (first.sum(1) <= lengths).all()


@pytest.fixture(scope="module")
def fixture_task(pretrained_dir, tmp_path_factory):
    xlmr_dir = os.path.join(pretrained_dir, "xlmr.base")
    return xlmr_dir, SgaTranslationTask.load_dictionary(os.path.join(xlmr_dir, "dict.txt"))


def test_checkpoint_keeps_trainables_and_checks_the_backbone(fixture_task, tmp_path):
    xlmr_dir, d = fixture_task
    model = build(d, pretrained_xlmr_checkpoint=xlmr_dir)
    state = model.state_dict()
    assert set(state) == {"backbone_sha256", "project_key.weight", "project_value.weight"} | {
        f"prompts.{u}_{k}" for u in ("semantic", "alignment", "denoising") for k in ("key", "value")}
    again = build(d, seed=9, pretrained_xlmr_checkpoint=os.path.join(xlmr_dir, "model.pt"))
    again.load_state_dict(state)
    assert all(torch.equal(state[k], v) for k, v in again.state_dict().items())
    state["backbone_sha256"][0] = (state["backbone_sha256"][0] + 1) % 256
    with pytest.raises(PretrainedModelError, match="sha256"):
        again.load_state_dict(state)
    with pytest.raises(PretrainedModelError, match="missing"):
        build(d, pretrained_xlmr_checkpoint=str(tmp_path / "nowhere" / "model.pt"))
    with pytest.raises(PretrainedModelError, match="dictionary"):
        build(xlmr_dictionary(), pretrained_xlmr_checkpoint=xlmr_dir)


def test_mask_predict_decoding_fills_the_predicted_length_then_denoises_a_doubled_canvas():
    d = xlmr_dictionary()
    model = build(d, seed=6, alignment="mask_predict", max_target_length=8, mask_predict_iterations=3).eval()
    src = _sources(d)
    with torch.no_grad():
        encoder_out = model.forward_encoder([src, None])
        start = model.initialize_output_tokens(encoder_out, src)
        lengths = encoder_out["length_logits"].argmax(-1).clamp(min=1)
        assert (start.output_tokens.eq(model.blank).sum(1) == lengths).all()
        step0 = model.forward_decoder(start._replace(step=0), encoder_out)
    assert not step0.output_tokens.eq(model.blank).any()  # every mask predicted, none kept
    assert (step0.output_tokens.ne(d.pad()).sum(1) == lengths + 2).all()
    canvas = step0.history[-1]  # what the denoiser reads: each token twice
    body, body_lengths = model.body(step0.output_tokens)
    for row in range(src.size(0)):
        n = int(body_lengths[row])
        assert canvas[row, 1: 2 * n + 1].tolist() == body[row, :n].repeat_interleave(2).tolist()
    hypos = _generate(model, d, src, max_iter=3)
    assert all(h["steps"] <= 3 and not h["tokens"].eq(model.blank).any() for h in hypos)


def test_build_refuses_per_language_prompts_without_a_set_for_a_trained_source_language():
    """The task's languages reach the model through its config (lang_pairs, source_lang = the task's)."""
    with pytest.raises(InputError, match=r"--prompt-languages ru_RU: no prompts for source language\(s\) zh_CN of "):
        build(xlmr_dictionary(), prompt_languages="ru_RU", lang_pairs="ru_RU-en_XX,zh_CN-en_XX", source_lang="ru_RU")
    build(xlmr_dictionary(), prompt_languages="ru_RU,zh_CN", lang_pairs="ru_RU-en_XX,zh_CN-en_XX", source_lang="ru_RU")
