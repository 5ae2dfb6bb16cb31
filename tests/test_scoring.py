import importlib.util
import json
import random

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from fairseq_xlgen.analysis.scoring import WordTokenizer, bleu_tokenizer_name, meteor_exact_stem, score_outputs
from fairseq_xlgen.cli import score as score_cli

CHINESE_WORDS = ["我们", "今天", "公园", "散步", "天气", "很好", "朋友", "一起", "吃饭", "学校", "老师", "学生",
                 "喜欢", "读书", "音乐", "电影", "城市", "北京", "上海", "火车"]


@pytest.fixture(scope="module")
def chinese_spm(tmp_path_factory):
    """A tiny SentencePiece model trained on generated Chinese lines."""
    import sentencepiece

    rng = random.Random(0)
    directory = tmp_path_factory.mktemp("spm")
    corpus = directory / "corpus.txt"
    corpus.write_text("\n".join("".join(rng.choices(CHINESE_WORDS, k=rng.randint(3, 8))) for _ in range(300)) + "\n",
                      encoding="utf-8")
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(directory / "zh"), vocab_size=60, hard_vocab_limit=False,
        character_coverage=1.0, num_threads=1, minloglevel=2,
    )
    return str(directory / "zh.model")


def test_bleu_and_chrf_of_identical_text_are_100():
    lines = ["The cat sat on the mat.", "A quick brown fox jumps over the lazy dog."]
    scores = score_outputs(lines, lines, "en_XX", metrics=["bleu", "chrf"])["scores"]
    assert scores["bleu"] == pytest.approx(100.0)
    assert scores["chrf"] == pytest.approx(100.0)
    zh = ["我们今天在公园散步。"]
    assert score_outputs(zh, zh, "zh_CN", metrics=["bleu"])["scores"]["bleu"] == pytest.approx(100.0)


def test_chinese_gets_the_zh_tokenizer_and_partial_credit():
    hyp, ref = ["我们今天在公园里散步很开心"], ["我们今天在公园里散步非常开心"]
    result = score_outputs(hyp, ref, "zh_CN", metrics=["bleu"])
    assert "tok:zh" in result["settings"]["bleu_signature"]
    assert 0.0 < result["scores"]["bleu"] < 100.0
    # with sacreBLEU's default 13a tokenizer each unspaced line is a single token: no credit
    assert sacrebleu.corpus_bleu(hyp, [ref], tokenize="13a").score == 0.0


def test_tokenizer_per_language():
    assert bleu_tokenizer_name("de_DE") == "13a"
    assert bleu_tokenizer_name("zh") == "zh"
    has_mecab = importlib.util.find_spec("MeCab") is not None
    assert bleu_tokenizer_name("ja_XX") == ("ja-mecab" if has_mecab else "char")
    assert bleu_tokenizer_name("my_MM") == "char"
    with pytest.raises(ValueError, match="unknown language code"):
        bleu_tokenizer_name("xx_YY")


def test_rouge_on_latin_text_matches_rouge_score():
    hyps = ["the cat was found under the bed", "police killed the gunman", "A dog-like animal, 3 times."]
    refs = ["the cat was under the bed", "the gunman was shot down by police", "a dog like animal 3 times"]
    ours = score_outputs(hyps, refs, "en_XX", metrics=["rouge"])["scores"]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    for rouge_type in ("rouge1", "rouge2", "rougeL"):
        direct = sum(scorer.score(r, h)[rouge_type].fmeasure for h, r in zip(hyps, refs)) / len(hyps)
        assert ours[rouge_type] == pytest.approx(100.0 * direct)


def test_word_tokenizer_keeps_non_ascii_words_and_splits_chinese():
    tokens = WordTokenizer().tokenize("Herr Müller liest हिन्दी, 北京很好!")
    assert tokens == ["herr", "müller", "liest", "हिन्दी", "北", "京", "很", "好"]


def test_sp_rouge_scores_chinese_where_plain_rouge_score_gives_zero(chinese_spm):
    hyps = ["我们今天一起在公园散步", "老师喜欢读书"]
    refs = ["我们今天在公园散步", "学生喜欢音乐和读书"]
    plain = rouge_scorer.RougeScorer(["rouge1"]).score(refs[0], hyps[0])["rouge1"].fmeasure
    assert plain == 0.0  # rouge-score's default tokenizer deletes every Chinese character
    result = score_outputs(hyps, refs, "zh_CN", spm_model=chinese_spm)
    assert result["settings"]["metrics"] == ["bleu", "chrf", "rouge", "sp_rouge"]
    scores = result["scores"]
    assert 0.0 < scores["sp_rouge1"] < 100.0
    assert 0.0 < scores["sp_rougeL"] <= scores["sp_rouge1"]
    assert 0.0 < scores["rouge1"] < 100.0  # character-level ROUGE
    same = score_outputs(refs, refs, "zh_CN", metrics=["sp_rouge"], spm_model=chinese_spm)["scores"]
    assert same["sp_rouge2"] == pytest.approx(100.0)


def test_meteor_exact_and_stem_matches_hand_worked():
    # cats~cat by Porter stem, the other five words exact: P = R = 1, Fmean = 1. nltk aligns
    # hyp->ref (0,4) (1,1) (2,2) (3,3) (4,0) (5,5): 4 chunks over 6 matches,
    # penalty = 0.5 (4/6)^3 = 4/27, score = 23/27
    assert meteor_exact_stem(["The cats sat on a mat."], ["a cat sat on the mat"], "en_XX") == pytest.approx(
        100 * 23 / 27)
    # only a stem match: 1 chunk / 1 match -> penalty 0.5; exact matching alone would give 0
    assert meteor_exact_stem(["cats"], ["cat"], "en") == pytest.approx(50.0)
    # identical n-word sentences lose 0.5 / n^3 to the fragmentation penalty; no match gives 0
    assert meteor_exact_stem(["a b c d", "x y"], ["a b c d", "z"], "en") == pytest.approx(100 * (1 - 0.5 / 64) / 2)


def test_meteor_russian_uses_the_snowball_stemmer():
    # кошками ~ кошки (stem кошк), играли exact: 1 chunk / 2 matches, penalty 0.5/8 -> 15/16
    hyp, ref = ["Кошками играли."], ["кошки играли"]
    assert meteor_exact_stem(hyp, ref, "ru_RU") == pytest.approx(100 * 15 / 16)
    result = score_outputs(hyp, ref, "ru_RU", metrics=["meteor_exact_stem"])
    assert result["settings"]["meteor"]["stemmer"] == "snowball-russian"
    # with nltk's default English (Porter) stemmer only играли matches: P = R = 1/2, 1 chunk -> 0.25
    assert meteor_exact_stem(hyp, ref, "en") == pytest.approx(25.0)


def test_meteor_chinese_matches_characters():
    # 我们在公园 / 我们去公园: characters 我 们 公 园 match (P = R = 4/5) in 2 chunks:
    # penalty 0.5 (2/4)^3 = 1/16, score = 0.8 * 15/16 = 0.75; no stemmer for Chinese
    result = score_outputs(["我们在公园"], ["我们去公园。"], "zh_CN", metrics=["meteor_exact_stem"])
    assert result["scores"]["meteor_exact_stem"] == pytest.approx(75.0)
    assert result["settings"]["meteor"]["stemmer"] == "none"


def test_score_cli_meteor_column(tmp_path, capsys):
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_text("cats\n我们在公园\n", encoding="utf-8")
    ref.write_text("cat\n我们去公园\n", encoding="utf-8")
    out = tmp_path / "scores.json"
    score_cli.main(["--hyp", str(hyp), "--ref", str(ref), "--lang", "zh_CN", "--metrics", "rouge,meteor_exact_stem",
                    "--json", str(out)])
    assert "meteor_exact_stem" in capsys.readouterr().out
    scores = json.loads(out.read_text(encoding="utf-8"))["scores"]
    assert scores["meteor_exact_stem"] == pytest.approx((0.0 + 75.0) / 2)  # zh: no stemmer, cats != cat
    with pytest.raises(SystemExit) as exit_info:
        score_cli.main(["--hyp", str(hyp), "--ref", str(ref), "--lang", "zh_CN", "--metrics", "meteor"])
    assert exit_info.value.code == 2
    assert "meteor_exact_stem" in capsys.readouterr().err


def test_metric_errors():
    with pytest.raises(ValueError, match="WordNet"):
        score_outputs(["a"], ["a"], "en", metrics=["meteor"])
    with pytest.raises(ValueError, match="SentencePiece"):
        score_outputs(["a"], ["a"], "en", metrics=["sp_rouge"])
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        score_outputs(["a", "b"], ["a"], "en")


def test_understanding_scores_of_text_to_text_outputs_worked_by_hand():
    # labels: 2 of 3 equal after stripping
    labels = score_outputs(["entailment", "neutral ", "contradiction"], ["entailment", "neutral", "neutral"], "en",
                           metrics=["accuracy"])["scores"]
    assert labels["accuracy"] == pytest.approx(200 / 3)
    # tags at their position: 2 of 3, then 1 of 2 (a missing tag is wrong): 3 of 5; an extra tag costs nothing
    tags = score_outputs(["DET NOUN VERB", "DET", "PRON VERB X"], ["DET NOUN NOUN", "DET NOUN", "PRON VERB"], "ru",
                         metrics=["tag_accuracy"])["scores"]
    assert tags["tag_accuracy"] == pytest.approx(100 * (2 + 1 + 2) / (3 + 2 + 2))
    # spans: Cyrillic words (P = 1, R = 1/2: F1 2/3), Han by character (P = 1/2, R = 1: F1 2/3), one exact
    spans = score_outputs(["собака", "狗猫", "Кошка"], ["собака спит", "狗", "кошка"], "ru", metrics=["span"])["scores"]
    assert spans["span_f1"] == pytest.approx(100 * (2 / 3 + 2 / 3 + 1) / 3)
    assert spans["span_em"] == pytest.approx(100 / 3)  # lower-cased tokens: Кошка = кошка
    with pytest.raises(ValueError, match="the references hold no tags"):
        score_outputs(["A"], [""], "en", metrics=["tag_accuracy"])


def test_xlrs_metric_names_of_the_understanding_scores():
    from fairseq_xlgen.cli.xlrs import metric_family
    from fairseq_xlgen.errors import InputError

    assert [metric_family(m) for m in ("accuracy", "tag_accuracy", "span_f1", "span_em", "sp_rougeL")] == [
        "accuracy", "tag_accuracy", "span", "span", "sp_rouge"]
    for bad in ("span", "span_f2", "rougeX"):
        with pytest.raises(InputError, match=f"--metric {bad}: choose"):
            metric_family(bad)
