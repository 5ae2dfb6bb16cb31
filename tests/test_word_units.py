"""Words as CSR's unit in unspaced scripts (--lexicon-unit words): the shared segmenter (jieba on
real Chinese, a segmented corpus's words on the benchmark), word units of SentencePiece text,
switching and writing back on zh_CN (unspaced) and ru_RU (Cyrillic), the chain of tools, the
refusal of unspaced languages without a segmenter, and the mapping restarts' choice."""
import dataclasses
import json

import numpy as np
import pytest
import sentencepiece
import torch
from fairseq.data import Dictionary

from test_lexicon_cli import assert_one_line_error, run_cli, write_text
from fairseq_xlgen.data.code_switching import CodeSwitchLexicon, WordSwitcher
from fairseq_xlgen.testbed.pretrained_fixtures import train_sentencepiece, write_fairseq_dictionary
from fairseq_xlgen.errors import InputError
from fairseq_xlgen.lexicon import embedding_mapping
from fairseq_xlgen.lexicon.embedding_mapping import MappingConfig, map_embeddings_with_restarts
from fairseq_xlgen.lexicon.embeddings_io import read_embeddings
from fairseq_xlgen.lexicon.word_segmentation import (
    MissingSegmenter, Word, WordSegmenter, check_language, join_words, split_words, words_line,
)

W = "\u2581"
ZH = "我们举行了会议。"
EN = "they held the meeting ."
RU = "мы провели встречу ."


@pytest.fixture(scope="module")
def gold_segmenter(tmp_path_factory):
    """A hand-segmented corpus as the segmenter's dictionary (as the benchmark's *.zh_CN.words)."""
    path = tmp_path_factory.mktemp("seg") / "train.zh_CN.words"
    path.write_text("我们 举行 了 会议 。\n他们 举行 会议 。\n我们 了解 会 。\n", encoding="utf-8")
    return WordSegmenter(f"jieba-dict:{path}")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny SentencePiece model in mBART's format over hand-made zh_CN, en_XX and ru_RU text."""
    out = tmp_path_factory.mktemp("spm")
    corpus = write_text(out / "corpus.txt", "".join(f"{line}\n" for line in [ZH, EN, RU, "他们举行会议。", "we held meeting",
                                                                           "мы провели"] * 30))
    train_sentencepiece([str(corpus)], str(out / "sentence.bpe.model"), 60)
    write_fairseq_dictionary(str(out / "sentence.bpe.model"), [str(corpus)], str(out / "dict.txt"))
    return str(out / "sentence.bpe.model"), Dictionary.load(str(out / "dict.txt"))


def test_segmented_corpus_segmenter_cuts_as_its_words(gold_segmenter):
    assert gold_segmenter.segment("我们举行了会议") == ["我们", "举行", "了", "会议"]
    # maximum probability with the corpus's counts: 了解 is a word, 了 会 is not
    assert gold_segmenter.segment("我们了解会议") == ["我们", "了解", "会议"]
    assert gold_segmenter.segment("他们举行") == ["他们", "举行"]


def test_jieba_cuts_a_real_sentence():
    assert WordSegmenter("jieba").segment("我们昨天在北京举行了会议") == ["我们", "昨天", "在", "北京", "举行", "了", "会议"]


def test_word_units_of_mixed_text_and_pieces(gold_segmenter):
    words = split_words("我们用iPhone举行了会议。 they don't hold 12 meetings, ok", gold_segmenter)
    assert [w.text for w in words] == ["我们", "用", "iPhone", "举行", "了", "会议", "。", "they", "don't", "hold", "12",
                                       "meetings", ",", "ok"]
    assert [w.space_before for w in words] == [False] * 7 + [True] * 5 + [False, True]
    # units of a pieces line: ▁ read as a space, Chinese cut by the segmenter, spaced words whole
    assert words_line(f"{W} 我们 举 行 了 会议 。 {W}the {W}ca t", gold_segmenter) == "我们 举行 了 会议 。 the cat"
    assert words_line(f"{W}мы {W}про вели", None) == "мы провели"
    with pytest.raises(MissingSegmenter, match="--segmenter jieba"):
        split_words("we 举行", None)


def test_spacing_at_script_boundaries():
    def joined(texts, spaces, switched):
        return join_words([Word(t, s) for t, s in zip(texts, spaces)], switched)
    # an English word inside Chinese text stands between spaces; punctuation keeps its spacing
    assert joined(["我们", "held", "了", "会议", "。"], [False] * 5, [False, True, False, False, False]) == "我们 held 了会议。"
    # Chinese words next to each other are written together, also inside English text
    assert joined(["they", "举行", "会议", "."], [False, True, True, True], [False, True, True, False]) == "they 举行会议 ."
    # words not next to a switched one keep their spacing
    assert joined(["我们", "用", "iPhone"], [False, False, False], [False, False, False]) == "我们用iPhone"


def _switcher(model, segmenter, pairs):
    spm_path, dictionary = model
    switcher = WordSwitcher(dictionary, segmenter, spm_path)
    switcher.lexicon = CodeSwitchLexicon({a: [b] for a, b in pairs.items()})
    return switcher


def _ids(model, text):
    spm_path, dictionary = model
    sp = sentencepiece.SentencePieceProcessor(model_file=spm_path)
    return np.array([dictionary.index(p) for p in sp.encode(text, out_type=str)], dtype=np.int64)


@pytest.mark.parametrize("original, lexicon, switched", [
    (ZH, {"我们": "we", "举行": "held", "会议": "meeting"}, "we held 了 meeting。"),
    (EN, {"held": "举行", "meeting": "会议"}, "they 举行 the 会议 ."),
    (RU, {"мы": "we", "провели": "held"}, "we held встречу ."),
])
def test_switching_and_switching_back_restores_the_sentence(model, gold_segmenter, original, lexicon, switched):
    spm_path, dictionary = model
    tokens = _ids(model, original)
    assert dictionary.unk() not in tokens
    forward = _switcher(model, gold_segmenter, lexicon).switch(tokens, np.random.default_rng(0), ratio=1.0)
    assert (forward.switched, forward.switchable) == (len(lexicon), len(lexicon))
    assert forward.tokens.tolist() == _ids(model, switched).tolist()  # SentencePiece's pieces of the switched text
    back = _switcher(model, gold_segmenter, {b: a for a, b in lexicon.items()})
    restored = back.switch(forward.tokens, np.random.default_rng(0), ratio=1.0)
    assert restored.switched == len(lexicon) and restored.tokens.tolist() == tokens.tolist()


def test_nothing_switched_keeps_the_ids_and_unk_sentences_are_left_alone(model, gold_segmenter):
    spm_path, dictionary = model
    switcher = _switcher(model, gold_segmenter, {"举行": "held"})
    tokens = _ids(model, ZH)
    result = switcher.switch(tokens, np.random.default_rng(0), ratio=0.0)
    assert result.tokens is tokens and (result.units, result.switchable) == (5, 1)
    with_unk = np.append(tokens, dictionary.unk())
    assert switcher.switch(with_unk, np.random.default_rng(0), ratio=1.0).switched == 0


def test_word_lexicon_drops_translations_the_model_cannot_spell(model, gold_segmenter, tmp_path):
    spm_path, dictionary = model
    path = write_text(tmp_path / "lex.tsv", "举行\theld\t0.9\t1\n举行\tжжж\t0.8\t2\n会议\tmeeting\t0.7\t1\n")
    switcher = WordSwitcher(dictionary, gold_segmenter, spm_path).read_lexicon(str(path), k=3)
    assert switcher.lexicon.translations == {"举行": ["held"], "会议": ["meeting"]}  # ж is not in the model


def test_unspaced_languages_without_a_segmenter_are_refused():
    check_language("zh_CN", "words")
    check_language("ja_XX", "pieces")
    for lang in ("ja_XX", "my_MM"):
        with pytest.raises(InputError, match=f"{lang}: .* no word segmenter"):
            check_language(lang, "words")


def test_word_units_through_embeddings_and_lexicon(tmp_path, gold_segmenter, model):
    spm_path, dictionary = model
    sp = sentencepiece.SentencePieceProcessor(model_file=spm_path)
    zh = write_text(tmp_path / "train.zh_CN", "".join(" ".join(sp.encode(ZH, out_type=str)) + "\n" for _ in range(20)))
    en = write_text(tmp_path / "train.en_XX", "".join(" ".join(sp.encode(EN, out_type=str)) + "\n" for _ in range(20)))
    flags = ["--dim", 8, "--epochs", 1, "--min-count", 1, "--workers", 1, "--lexicon-unit", "words"]
    assert_one_line_error(run_cli("train_embeddings", "--input", zh, "--output", tmp_path / "zh.vec", *flags),
                          f"{zh}:1:", "--segmenter jieba")
    assert_one_line_error(run_cli("train_embeddings", "--input", zh, "--output", tmp_path / "ja.vec", *flags,
                                  "--lang", "ja_XX", "--segmenter", "jieba"), "ja_XX", "--lexicon-unit pieces")
    segmenter = f"jieba-dict:{gold_segmenter.dictionary_corpus}"
    for lang, corpus in (("zh_CN", zh), ("en_XX", en)):
        process = run_cli("train_embeddings", "--input", corpus, "--output", tmp_path / f"{lang}.vec", *flags,
                          "--lang", lang, "--segmenter", segmenter)
        assert process.returncode == 0, process.stderr
    assert set(read_embeddings(str(tmp_path / "zh_CN.vec"))[0]) == {"我们", "举行", "了", "会议", "。"}
    assert set(read_embeddings(str(tmp_path / "en_XX.vec"))[0]) == {"they", "held", "the", "meeting", "."}
    assert json.loads((tmp_path / "zh_CN.vec.json").read_text())["segmenter"] == segmenter
    # induce-lexicon on the words (identity "mapping": the trained vectors, same dimension)
    process = run_cli("induce_lexicon", "--src-emb", tmp_path / "en_XX.vec", "--tgt-emb", tmp_path / "zh_CN.vec",
                      "--out-prefix", tmp_path / "lex", "--k", 1, "--lexicon-unit", "words",
                      "--dict", dictionary_path(tmp_path, dictionary), "--spm-model", spm_path)
    assert process.returncode == 0, process.stderr
    rows = [line.split("\t") for line in (tmp_path / "lex.src2tgt.tsv").read_text(encoding="utf-8").splitlines()]
    assert {row[0] for row in rows} == {"they", "held", "the", "meeting", "."}
    assert {row[1] for row in rows} <= {"我们", "举行", "了", "会议", "。"}
    assert json.loads((tmp_path / "lex.json").read_text())["lexicon_unit"] == "words"
    assert not (tmp_path / "lex.src2tgt.ids.tsv").exists()  # a word's ids depend on its context
    # piece-unit embeddings are refused in words mode
    pieces = run_cli("train_embeddings", "--input", en, "--output", tmp_path / "p.vec", "--dim", 8, "--epochs", 1,
                     "--min-count", 1, "--workers", 1)
    assert pieces.returncode == 0, pieces.stderr
    assert_one_line_error(run_cli("induce_lexicon", "--src-emb", tmp_path / "p.vec", "--tgt-emb", tmp_path / "p.vec",
                                  "--out-prefix", tmp_path / "bad", "--lexicon-unit", "words"),
                          "p.vec", "--lexicon-unit pieces")


def dictionary_path(tmp_path, dictionary):
    path = tmp_path / "dict.txt"
    with open(path, "w", encoding="utf-8") as f:
        dictionary.save(f)
    return path


def test_restarts_keep_the_highest_objective_and_drop_a_known_bad_seed(monkeypatch, tmp_path):
    """A toy pair: the target is a rotated copy of the source. Seed 1 is made bad (self-learning
    starts from a shuffled dictionary and stops after one iteration: a wrong optimum); the choice
    by the final objective alone keeps a good seed, whose mapping translates every word."""
    generator = torch.Generator().manual_seed(0)
    src = torch.randn(60, 8, generator=generator)
    rotation = torch.linalg.qr(torch.randn(8, 8, generator=generator))[0]
    tgt = src @ rotation
    identity = [(i, i) for i in range(60)]
    real_map = embedding_mapping.map_embeddings

    def map_with_a_bad_seed(src_emb, tgt_emb, config, seed_pairs=None, **kwargs):
        if config.seed == 1:
            config = dataclasses.replace(config, max_iterations=1)
            seed_pairs = [(i, (7 * i + 3) % 60) for i in range(60)]
        return real_map(src_emb, tgt_emb, config, seed_pairs=seed_pairs, **kwargs)

    monkeypatch.setattr(embedding_mapping, "map_embeddings", map_with_a_bad_seed)
    config = MappingConfig(init="seed_dictionary", seed=0, stochastic_interval=3)
    best, seed, objectives = map_embeddings_with_restarts(src, tgt, config, 3, seed_pairs=identity, progress=False,
                                                          checkpoint_path=str(tmp_path / "map.ckpt"))
    by_seed = dict(objectives)
    assert list(by_seed) == [0, 1, 2] and by_seed[1] < min(by_seed[0], by_seed[2])
    assert seed == 0 and by_seed[0] == max(by_seed.values())  # first of equal best objectives
    nearest = (best.src_mapped @ best.tgt_mapped.T).argmax(dim=1)
    assert nearest.tolist() == list(range(60))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.ckpt.seed0", "map.ckpt.seed1", "map.ckpt.seed2"]
    with pytest.raises(ValueError, match="restarts"):
        map_embeddings_with_restarts(src, tgt, config, 0, seed_pairs=identity)
