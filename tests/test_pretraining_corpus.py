"""The testbed backbones' pretraining text (code-switched, half of the concepts held out) and the
``multilingual_denoising_mixed_bos`` pretraining task (blocks partly in the finetuning format)."""
import os
import random
import subprocess
import sys

import pytest
import torch
from fairseq import options, tasks
from fairseq.data import Dictionary, indexed_dataset

from conftest import tool_env
from fairseq_xlgen.data.leading_token_dropping import LeadingBosDroppingDataset
from fairseq_xlgen.testbed.pretraining_corpus import (CodeSwitcher, concept_of_form, held_out_forms, join_tokens,
                                                   pretraining_documents, switchable, translation_pairs)
from fairseq_xlgen.testbed.synthetic_benchmark import build_lexica, generate_benchmark
from fairseq_xlgen.pretrained import MBART_CC25_LANGS


def test_zh_text_joins_han_without_spaces_and_keeps_spaces_between_other_words():
    assert join_tokens("zh_CN", ["我们", "kato", "pilu", "吃", "Мибиво", "。"]) == "我们kato pilu吃Мибиво。"
    assert join_tokens("ru_RU", ["мум", "吃", "."]) == "мум 吃 ."


@pytest.mark.parametrize("code", ["ru_RU", "zh_CN"])
def test_every_switchable_word_is_switched_at_share_one_and_no_held_out_word_ever(code):
    _, lexica = build_lexica(1, "tiny")
    own = concept_of_form(lexica[code])
    others = {other: concept_of_form(lexicon) for other, lexicon in lexica.items() if other != code}
    kept = switched = 0
    for tokens in pretraining_documents(1, "tiny", code, 200, switch_share=1.0):
        for token in tokens:
            if token in own:
                category, index, _ = own[token]
                assert not switchable(1, category, index), token  # a switchable word would have been switched
                kept += 1
            elif any(token in concepts for concepts in others.values()):
                concept = next(c[token] for c in others.values() if token in c)
                assert switchable(1, *concept[:2]), token
                switched += 1
    assert kept > 100 and switched > 100


def test_switching_keeps_features_and_hits_the_share():
    _, lexica = build_lexica(1, "tiny")
    switcher = CodeSwitcher(lexica, 1)
    rng = random.Random(0)
    en, de = lexica["en_XX"], lexica["de_DE"]
    noun = next(i for i in range(len(en.forms["noun"])) if switchable(1, "noun", i))
    form = en.forms["noun"][noun][("pl", "acc")]
    assert switcher.switch(rng, "en_XX", [form, "."], 1.0, "de_DE") == [de.forms["noun"][noun][("pl", "acc")], "."]
    words = [f for f, (cat, i, _) in concept_of_form(en).items() if switchable(1, cat, i)] * 20
    out = switcher.switch(random.Random(1), "en_XX", words, 0.3, "de_DE")
    share = sum(a != b for a, b in zip(words, out)) / len(words)
    assert 0.28 < share < 0.32


def test_about_half_of_the_concepts_are_held_out_in_every_language():
    for code in ("en_XX", "ru_RU", "zh_CN"):
        _, lexica = build_lexica(1, "small", (code,))
        forms = concept_of_form(lexica[code])
        held = held_out_forms(1, "small", code)
        assert 0.4 < len(held) / len(forms) < 0.6
        assert all(not switchable(1, *forms[f][:2]) for f in held)


def test_translation_pairs_use_switchable_concepts_only_and_no_benchmark_sentence(tmp_path):
    bench = tmp_path / "bench"
    generate_benchmark(str(bench), seed=1, size="tiny", langs="en_XX,ru_RU", progress=False)
    benchmark_lines = set()
    for split in ("train", "valid", "test"):
        benchmark_lines.update((bench / "parallel" / f"{split}.en_XX-ru_RU.en_XX").read_text().splitlines())
    pairs = list(translation_pairs(1, "tiny", "en_XX", "ru_RU", 50))
    assert len(pairs) == 50 and pairs == list(translation_pairs(1, "tiny", "en_XX", "ru_RU", 50))
    _, lexica = build_lexica(1, "tiny")
    en, ru = concept_of_form(lexica["en_XX"]), concept_of_form(lexica["ru_RU"])
    for source, target in pairs:
        assert source not in benchmark_lines
        for token, concepts in [(t, en) for t in source.split()] + [(t, ru) for t in target.split()]:
            if token in concepts:
                assert switchable(1, *concepts[token][:2])


def test_cli_refuses_nonsense_numbers_in_one_line(tmp_path):
    for flags, message in ((["--lines", "0"], "invalid --lines 0"), (["--switch-share", "1.5"], "invalid --switch-share"),
                           (["--pairs", "en_XX-xx_XX"], "invalid --pairs en_XX-xx_XX")):
        proc = subprocess.run([sys.executable, "-m", "fairseq_xlgen.cli.make_pretraining_text", "--out",
                               str(tmp_path / "out"), "--size", "tiny", "--lines", "3", *flags],
                              capture_output=True, text=True, env=tool_env())
        assert proc.returncode == 2 and proc.stderr.startswith(f"error: {message}"), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() or not any(p.name.startswith("pairs.") for p in (tmp_path / "out").iterdir())


# ------------------------------------------------------------------ multilingual_denoising_mixed_bos
class _Items(torch.utils.data.Dataset):
    def __init__(self, n):
        self.items = [{"id": i, "source": torch.tensor([0, 5, 6, 2, 9]), "target": torch.tensor([0, 5, 6, 2, 9])}
                      for i in range(n)]

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self):
        return len(self.items)


def test_bos_is_dropped_from_both_sides_for_the_other_share_and_the_choice_is_fixed():
    base = _Items(400)
    for share, kept in ((1.0, 400), (0.0, 0)):
        wrapped = LeadingBosDroppingDataset(base, bos=0, keep_share=share, seed=1)
        assert sum(wrapped[i]["source"][0].item() == 0 for i in range(400)) == kept
    wrapped = LeadingBosDroppingDataset(base, bos=0, keep_share=0.5, seed=1)
    dropped = [i for i in range(400) if wrapped[i]["source"][0] != 0]
    assert 170 < len(dropped) < 230
    assert wrapped[dropped[0]]["source"].tolist() == [5, 6, 2, 9] == wrapped[dropped[0]]["target"].tolist()
    assert dropped == [i for i in range(400) if LeadingBosDroppingDataset(base, 0, 0.5, 1)[i]["source"][0] != 0]


def _denoising_data(tmp_path):
    dictionary = Dictionary()
    for word in [f"w{i}" for i in range(20)]:
        dictionary.add_symbol(word)
    dictionary.save(str(tmp_path / "dict.txt"))
    with open(tmp_path / "dict.txt", "a") as f:
        f.writelines(f"[{lang}] 1\n" for lang in MBART_CC25_LANGS)
    dictionary = Dictionary.load(str(tmp_path / "dict.txt"))
    for lang in ("en_XX", "zh_CN"):
        os.makedirs(tmp_path / lang)
        prefix = str(tmp_path / lang / "train")
        builder = indexed_dataset.make_builder(prefix + ".bin", impl="mmap", vocab_size=len(dictionary))
        for i in range(40):
            builder.add_item(dictionary.encode_line(" ".join(f"w{(i + j) % 20}" for j in range(4)),
                                                    add_if_not_exist=False))
        builder.finalize(prefix + ".idx")
    return str(tmp_path)


def test_mixed_bos_task_gives_finetuning_format_batches(tmp_path):
    from fairseq_xlgen.userdir import USER_DIR

    data = _denoising_data(tmp_path)
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [
        data, "--user-dir", USER_DIR, "--task", "multilingual_denoising_mixed_bos", "--langs", "en_XX,zh_CN",
        "--add-lang-token", "--arch", "mbart_large", "--bos-block-share", "0.5", "--mask", "0", "--replace-length", "1",
        "--sample-break-mode", "eos", "--tokens-per-sample", "16", "--seed", "3"])
    task = tasks.setup_task(args)
    task.load_dataset("train")
    dataset = task.dataset("train")
    items = [dataset[i] for i in range(len(dataset))]
    bos = task.source_dictionary.bos()
    with_bos = [item for item in items if item["source"][0] == bos]
    without = [item for item in items if item["source"][0] != bos]
    assert with_bos and without and len(items) == 80
    item = without[0]
    lang_token = item["target"][-1].item()
    assert task.source_dictionary[lang_token] in ("[en_XX]", "[zh_CN]")
    assert item["target"][-2].item() == task.source_dictionary.eos()  # x </s> [L]
    batch = dataset.collater([item])
    prev = batch["net_input"]["prev_output_tokens"][0].tolist()
    assert prev == [lang_token] + item["target"][:-1].tolist()  # [L] x </s>, as the finetuning tasks feed


def test_mixed_bos_task_refuses_a_share_outside_zero_one(tmp_path):
    from fairseq_xlgen.userdir import USER_DIR

    data = _denoising_data(tmp_path)
    args = options.parse_args_and_arch(options.get_training_parser(), [
        data, "--user-dir", USER_DIR, "--task", "multilingual_denoising_mixed_bos", "--langs", "en_XX,zh_CN",
        "--arch", "mbart_large", "--bos-block-share", "1.5"])
    with pytest.raises(ValueError, match="--bos-block-share 1.5: expected a share between 0 and 1"):
        tasks.setup_task(args)


# ------------------------------------------------------------------ --embedding-init skipgram
def test_skipgram_init_sets_piece_rows_to_centred_vectors_at_the_random_norm(tmp_path, monkeypatch):
    from fairseq_xlgen.testbed import pretrained_fixtures
    from fairseq_xlgen.testbed.sizes import TinyModelConfig

    data = _denoising_data(tmp_path)
    cfg = TinyModelConfig(embedding_init="skipgram")
    # hand-made vectors: centred over the two pieces they are (1, 0, ...) and (-1, 0, ...), normalised the same
    vectors = {"w1": torch.zeros(cfg.embed_dim), "w2": torch.zeros(cfg.embed_dim)}
    vectors["w1"][0], vectors["w2"][0] = 3.0, 1.0
    monkeypatch.setattr(pretrained_fixtures, "piece_vectors", lambda files, dim, seed: vectors)
    argv = pretrained_fixtures.mbart_argv(cfg, langs=["en_XX", "zh_CN"])
    flags = pretrained_fixtures.embedding_init_argv("skipgram", data, argv, [], cfg.seed, str(tmp_path))
    # the first run starts from it; a resumed run from its own checkpoint_last.pt (fairseq ignores the flag then)
    assert flags == ["--finetune-from-model", str(tmp_path / "embedding_init.pt")]
    state = torch.load(flags[1], weights_only=False)
    weight = state["model"]["encoder.embed_tokens.weight"]
    random = pretrained_fixtures._build_model(pretrained_fixtures._parse_fairseq_args(data, argv))
    random_weight = random.state_dict()["encoder.embed_tokens.weight"]
    dictionary = Dictionary.load(os.path.join(data, "dict.txt"))
    w1, w2 = dictionary.index("w1"), dictionary.index("w2")
    norm = random_weight.norm(dim=1).mean()
    assert torch.allclose(weight[w1], torch.eye(cfg.embed_dim)[0] * norm)
    assert torch.allclose(weight[w2], -torch.eye(cfg.embed_dim)[0] * norm)
    others = [i for i in range(len(weight)) if i not in (w1, w2)]
    assert torch.equal(weight[others], random_weight[others])  # specials, other pieces, language tokens


def test_embedding_init_must_be_known(tmp_path):
    from fairseq_xlgen.testbed.pretrained_fixtures import build_fixtures
    from fairseq_xlgen.testbed.sizes import TinyModelConfig

    corpus = tmp_path / "en_XX.txt"
    corpus.write_text("a b .\n")
    with pytest.raises(ValueError, match="--embedding-init glove: expected one of random, skipgram"):
        build_fixtures(str(tmp_path / "fx"), [str(corpus)], TinyModelConfig(embedding_init="glove"))
    assert not (tmp_path / "fx").exists()
