import random

import pytest

from fairseq_xlgen.analysis.language_id import (
    UNDETERMINED,
    LangidIdentifier,
    LanguageIdentifier,
    NgramIdentifier,
    iso_code,
    language_id_report,
    train_ngram_identifier,
)

KNOWN = {
    "en_XX": "The committee will publish its final report on the economy next week.",
    "de_DE": "Die Regierung hat gestern neue Regeln für den Straßenverkehr beschlossen.",
    "ru_RU": "Вчера вечером мы долго гуляли по старому городу и разговаривали о книгах.",
    "zh_CN": "我们明天早上一起去图书馆看书，然后在学校附近吃午饭。",
}


@pytest.fixture(scope="module")
def langid_identifier():
    return LangidIdentifier(name_as=list(KNOWN))


def test_iso_codes():
    assert iso_code("zh_CN") == "zh" and iso_code("en_XX") == "en" and iso_code("ko") == "ko"
    with pytest.raises(ValueError, match="unknown language code"):
        iso_code("qq_QQ")


def test_langid_identifies_known_languages_confidently(langid_identifier):
    predictions = langid_identifier.identify(list(KNOWN.values()) + ["   "])
    for (label, probs), lang in zip(predictions, KNOWN):
        assert label == lang
        assert probs[lang] > 0.95
    assert predictions[-1] == (UNDETERMINED, {})
    assert len(predictions[0][1]) == 97 and sum(predictions[0][1].values()) == pytest.approx(1.0)


def test_lines_without_letters_are_undetermined(langid_identifier):
    """A lone ``?`` or ``。`` (what collapsed systems print) says nothing of its language; a line
    in an unspaced or Cyrillic script with digits and punctuation still does."""
    lines = ["?", "。", " 12 . ", "2024年" + KNOWN["zh_CN"], KNOWN["ru_RU"] + " 2024 ?"]
    labels = [label for label, _ in langid_identifier.identify(lines)]
    assert labels == [UNDETERMINED, UNDETERMINED, UNDETERMINED, "zh_CN", "ru_RU"]


def test_langid_restricted_to_candidates():
    identifier = LangidIdentifier(["en_XX", "de_DE"])
    label, probs = identifier.identify([KNOWN["de_DE"]])[0]
    assert label == "de_DE" and set(probs) == {"en_XX", "de_DE"}
    assert sum(probs.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no model"):
        LangidIdentifier(["en_XX", "my_MM"])  # Burmese is not among langid's languages


def random_language(rng, consonants, vowels, n_words=150):
    words = set()
    while len(words) < n_words:
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(1, 3))))
    return sorted(words)


def sentences(rng, vocabulary, n):
    return [" ".join(rng.choices(vocabulary, k=rng.randint(4, 10))) for _ in range(n)]


@pytest.fixture(scope="module")
def artificial():
    """Two random syllable languages sharing part of their letters, with held-out lines."""
    rng = random.Random(1)
    vocab_a = random_language(rng, "ptkmnsl", "aei")
    vocab_b = random_language(rng, "bdgmnrl", "aou")
    train = {"en_XX": sentences(rng, vocab_a, 300), "zh_CN": sentences(rng, vocab_b, 300)}
    held_out = {"en_XX": sentences(rng, vocab_a, 40), "zh_CN": sentences(rng, vocab_b, 40)}
    return train, held_out


def test_ngram_identifier_on_artificial_languages(artificial, tmp_path):
    train, held_out = artificial
    identifier = train_ngram_identifier(train)
    assert set(identifier.labels) == {"en_XX", "zh_CN"}
    for lang, lines in held_out.items():
        predictions = identifier.identify(lines)
        accuracy = sum(label == lang for label, _ in predictions) / len(lines)
        assert accuracy >= 0.95
        assert all(sum(probs.values()) == pytest.approx(1.0) for _, probs in predictions)

    path = tmp_path / "lid.json"
    identifier.save(str(path))
    reloaded = NgramIdentifier.load(str(path))
    lines = held_out["en_XX"][:5] + held_out["zh_CN"][:5]
    assert reloaded.identify(lines) == identifier.identify(lines)


class FirstWordIdentifier(LanguageIdentifier):
    """Test double: the first word names the language, with probability 0.8."""

    labels = ("en_XX", "de_DE", "fr_XX")

    def _identify_text(self, text):
        label = text.split()[0]
        return label, {lang: (0.8 if lang == label else 0.1) for lang in self.labels}


def test_wrong_language_rate_on_a_mixed_list():
    lines = ["de_DE gut", "de_DE ja", "en_XX yes", "fr_XX oui", "", "?", "en_XX no", "de_DE da"]
    report = language_id_report(FirstWordIdentifier(), lines, src_lang="en_XX", tgt_lang="de_DE")
    summary = report["summary"]
    assert summary["wrong_language_rate"] == pytest.approx(100 * 5 / 8)  # en, fr, en, the empty line and "?"
    assert summary["source_language_rate"] == pytest.approx(100 * 2 / 8)  # accidental translation: en twice
    assert summary["no_letters_rate"] == pytest.approx(100 * 2 / 8)  # "" and "?", not counted as en
    assert summary["mean_p_tgt"] == pytest.approx(100 * (0.8 + 0.8 + 0.1 + 0.1 + 0 + 0 + 0.1 + 0.8) / 8)
    assert summary["mean_p_src"] == pytest.approx(100 * (0.1 + 0.1 + 0.8 + 0.1 + 0 + 0 + 0.8 + 0.1) / 8)
    assert summary["label_counts"] == {"de_DE": 3, "en_XX": 2, UNDETERMINED: 2, "fr_XX": 1}
    assert [r["label"] for r in report["per_line"]] == [
        "de_DE", "de_DE", "en_XX", "fr_XX", UNDETERMINED, UNDETERMINED, "en_XX", "de_DE"]
    with pytest.raises(ValueError, match="not among"):
        language_id_report(FirstWordIdentifier(), lines, src_lang="en_XX", tgt_lang="zh_CN")
