import pytest

from fairseq_xlgen.analysis.plots import plot_word_accuracy
from fairseq_xlgen.analysis.word_accuracy import word_accuracy_by_frequency

# training counts: "the" 1500 (high), "cat" 1000 (mid: the paper's "more than 1000" is high),
# "sat" 100 (mid), "mat" 99 (low), "on" 0 (low)
TRAIN = ["the"] * 1500 + ["cat"] * 1000 + ["sat"] * 100 + ["mat"] * 99


def test_paper_frequency_buckets_by_hand():
    hyps = ["the cat sat on a mat", "the the dog"]
    refs = ["the cat sat on the mat", "the dog"]
    result = word_accuracy_by_frequency(hyps, refs, TRAIN)
    buckets = {b["name"]: b for b in result["buckets"]}
    assert [b["name"] for b in result["buckets"]] == ["low", "mid", "high"]
    # low: ref {on, mat, dog} = 3 words; out {on, a, mat, dog} = 4; matched 3
    assert (buckets["low"]["ref_words"], buckets["low"]["out_words"], buckets["low"]["matches"]) == (3, 4, 3)
    assert buckets["low"]["fmeasure"] == pytest.approx(100 * 2 * (3 / 4) * 1.0 / (3 / 4 + 1.0))
    # mid: cat, sat in both
    assert (buckets["mid"]["ref_words"], buckets["mid"]["matches"], buckets["mid"]["fmeasure"]) == (2, 2, 100.0)
    # high: ref "the" x3, out "the" x3 of which one is unmatched in sentence 2 -> 2 of 3
    assert (buckets["high"]["ref_words"], buckets["high"]["out_words"], buckets["high"]["matches"]) == (3, 3, 2)
    assert buckets["high"]["fmeasure"] == pytest.approx(100 * 2 / 3)
    assert (result["all"]["ref_words"], result["all"]["out_words"], result["all"]["matches"]) == (8, 9, 7)


def test_configurable_buckets():
    result = word_accuracy_by_frequency(["the cat"], ["the cat"], TRAIN, cutoffs=[1001], names=["rare", "frequent"])
    assert [(b["name"], b["ref_words"]) for b in result["buckets"]] == [("rare", 1), ("frequent", 1)]
    with pytest.raises(ValueError, match="names"):
        word_accuracy_by_frequency(["a"], ["a"], TRAIN, cutoffs=[10], names=["x"])


def test_word_accuracy_plot_is_written(tmp_path):
    path = tmp_path / "acc.png"
    plot_word_accuracy({"finetuned": {"low": 48.6, "mid": 58.4, "high": 68.7},
                        "+csr": {"low": 50.1, "mid": 58.8, "high": 68.7}}, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
