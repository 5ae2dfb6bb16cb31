import importlib.util
import random

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from fairseq_xlgen.analysis.scoring import WordTokenizer, bleu_tokenizer_name, score_outputs

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


def test_metric_errors():
    with pytest.raises(ValueError, match="WordNet"):
        score_outputs(["a"], ["a"], "en", metrics=["meteor"])
    with pytest.raises(ValueError, match="SentencePiece"):
        score_outputs(["a"], ["a"], "en", metrics=["sp_rouge"])
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        score_outputs(["a", "b"], ["a"], "en")
