"""Corpus scores of system outputs for any target language.

* BLEU and chrF: sacreBLEU. The BLEU tokenizer follows the language as in paper 004 §IV
  (sacreBLEU's default ``13a``; ``zh`` for Chinese; MeCab for Japanese and Korean when
  ``sacrebleu[ja]`` / ``sacrebleu[ko]`` are installed, else ``char`` for Japanese and ``13a``
  for Korean, which separates words with spaces; ``char`` for Burmese, Thai and Khmer).
* ROUGE-1/2/L F1: ``rouge-score`` with :class:`WordTokenizer`, which keeps non-ASCII words
  (rouge-score's default tokenizer deletes them) and splits Chinese/Japanese/Thai-type script
  into characters as paper 004 §IV-D does for Chinese.
* SP-ROUGE (paper 002 §3.1 after Vu et al. 2022): ROUGE over the pieces of a SentencePiece
  model (:class:`SentencePieceTokenizer`), comparable across scripts.
* METEOR (``meteor_exact_stem``, reported by paper 003 Tables 3-4): nltk's ``meteor_score``
  (Lavie & Agarwal 2007; alpha=0.9, beta=3, gamma=0.5) with exact and stem matches only. The
  synonym stage needs the WordNet database, which no PyPI package with a clear licence ships
  (``wn`` and nltk download it at run time), so it is given a WordNet without synsets; the
  name says so. Tokens are :class:`WordTokenizer`'s (Chinese-type script: one token per
  character); stems come from nltk's Porter stemmer for English (nltk's default), its Snowball
  stemmer for the other languages it covers (de, ru, fr, ...) and none (exact matches only)
  for the rest, e.g. Chinese characters.
* Understanding tasks read as text to text (paper 002 casts every task so for mT5, its Table 10):
  ``accuracy``, the share of outputs equal to their reference line (NLI / paraphrase labels);
  ``tag_accuracy``, the share of reference tags (space-separated) matched at their position (POS
  tagging; a missing tag is wrong, an extra one is not counted); ``span``, SQuAD's / TyDiQA-GoldP's
  token F1 and exact match of answer spans (``span_f1``, ``span_em``), with :class:`WordTokenizer`'s
  tokens (one per character in Chinese-type script, as MLQA scores Chinese).
"""
import collections
import functools
import re
import sys
import unicodedata
from typing import Callable, Dict, List, Optional, Sequence

import sacrebleu

from fairseq_xlgen.analysis.language_id import iso_code

#: Preferred sacreBLEU tokenizers per ISO code, best first; the first usable one is taken.
BLEU_TOKENIZERS = {
    "zh": ("zh",),
    "ja": ("ja-mecab", "char"),
    "ko": ("ko-mecab", "13a"),
    "my": ("char",),
    "th": ("char",),
    "km": ("char",),
}
DEFAULT_BLEU_TOKENIZER = "13a"

METRICS = ("bleu", "chrf", "rouge", "sp_rouge", "meteor_exact_stem", "accuracy", "tag_accuracy", "span")
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")

# Scripts written without spaces between words: one token per character.
_UNSEGMENTED_SCRIPTS = (
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"  # Han
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
)

#: nltk Snowball stemmers by ISO code (English keeps nltk METEOR's default, the Porter stemmer).
SNOWBALL_LANGUAGES = {
    "ar": "arabic", "da": "danish", "nl": "dutch", "fi": "finnish", "fr": "french", "de": "german",
    "hu": "hungarian", "it": "italian", "no": "norwegian", "nb": "norwegian", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "es": "spanish", "sv": "swedish",
}


@functools.lru_cache(maxsize=None)
def _bleu_metric(tokenizer_name: str) -> sacrebleu.BLEU:
    return sacrebleu.BLEU(tokenize=tokenizer_name)


def _usable(tokenizer_name: str) -> bool:
    try:
        _bleu_metric(tokenizer_name)
    except (ImportError, RuntimeError, AssertionError):  # MeCab or its dictionary missing
        return False
    return True


def bleu_tokenizer_name(lang: str) -> str:
    """Name of the sacreBLEU tokenizer used for ``lang`` (mBART or ISO code)."""
    candidates = BLEU_TOKENIZERS.get(iso_code(lang), (DEFAULT_BLEU_TOKENIZER,))
    return next(name for name in candidates if _usable(name))


def bleu_tokenize(lang: str) -> Callable[[str], List[str]]:
    """The BLEU tokenizer of ``lang`` as a function from a line to its tokens."""
    tokenizer = _bleu_metric(bleu_tokenizer_name(lang)).tokenizer
    return lambda line: tokenizer(line).split()


@functools.lru_cache(maxsize=None)
def _word_pattern() -> "re.Pattern":
    marks = "".join(
        re.escape(chr(c)) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)).startswith("M")
    )
    unsegmented = f"[{_UNSEGMENTED_SCRIPTS}][{marks}]*"
    word = f"(?:(?![{_UNSEGMENTED_SCRIPTS}])(?:[^\\W_]|[{marks}]))+"
    return re.compile(f"{unsegmented}|{word}")


class WordTokenizer:
    """Lower-cased runs of letters, digits and combining marks; unsegmented scripts by character.

    On ASCII text it yields exactly rouge-score's default tokens (without stemming).
    """

    #: how the scores' settings name these tokens
    DESCRIPTION = "unicode words, unsegmented scripts by character, lower-cased"

    def tokenize(self, text: str) -> List[str]:
        return _word_pattern().findall(text.lower())


class SentencePieceTokenizer:
    """SentencePiece pieces of a text, for SP-ROUGE (rouge-score's tokenizer interface)."""

    def __init__(self, model_file: str):
        from fairseq_xlgen.pretrained import load_sentencepiece

        self.model_file = model_file
        self._processor = load_sentencepiece(model_file)

    def tokenize(self, text: str) -> List[str]:
        return self._processor.encode(text, out_type=str)


def _same_length(predictions: Sequence, references: Sequence):
    if len(predictions) != len(references) or not references:
        raise ValueError(f"need as many predictions as references (got {len(predictions)} and {len(references)})")


def accuracy(predictions: Sequence, references: Sequence) -> float:
    """The share (0-1) of predictions equal to their reference."""
    _same_length(predictions, references)
    return sum(p == r for p, r in zip(predictions, references)) / len(references)


def tag_accuracy(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """The share (0-1) of the references' space-separated tags that the hypothesis has at the same position."""
    _same_length(hyps, refs)
    gold = [ref.split() for ref in refs]
    total = sum(len(tags) for tags in gold)
    if not total:
        raise ValueError("the references hold no tags")
    return sum(p == g for hyp, tags in zip(hyps, gold) for p, g in zip(hyp.split(), tags)) / total


def span_f1(prediction: str, answer: str) -> float:
    """SQuAD's token F1 of one predicted span against the answer."""
    tokenize = WordTokenizer().tokenize
    predicted, gold = tokenize(prediction), tokenize(answer)
    common = sum((collections.Counter(predicted) & collections.Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def span_scores(predictions: Sequence[str], answers: Sequence[str]) -> Dict[str, float]:
    """Mean F1 and exact match (x100) of predicted spans."""
    _same_length(predictions, answers)
    tokenize = WordTokenizer().tokenize
    return {"f1": 100 * sum(map(span_f1, predictions, answers)) / len(answers),
            "exact_match": 100 * sum(tokenize(p) == tokenize(a) for p, a in zip(predictions, answers)) / len(answers)}


def rouge_f1(hyps: Sequence[str], refs: Sequence[str], tokenizer) -> Dict[str, float]:
    """Mean sentence-level ROUGE-1/2/L F1 (x100) computed by rouge-score with ``tokenizer``."""
    from rouge_score import rouge_scorer  # imports nltk and scipy.stats: only when needed

    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=tokenizer)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for hyp, ref in zip(hyps, refs):
        for rouge_type, score in scorer.score(ref, hyp).items():
            totals[rouge_type] += score.fmeasure
    return {rouge_type: 100.0 * total / len(hyps) for rouge_type, total in totals.items()}


class _NoSynonyms:
    """Stands for nltk's WordNet reader in METEOR's synonym stage: no word has a synset."""

    @staticmethod
    def synsets(word):
        return []


class _NoStemmer:
    """Identity stemmer: languages without an nltk stemmer get exact matches only."""

    @staticmethod
    def stem(word):
        return word


def meteor_stemmer(lang: str):
    """``(stemmer, name)`` of METEOR's stem stage for ``lang``."""
    from nltk.stem import PorterStemmer, SnowballStemmer

    iso = iso_code(lang)
    if iso == "en":
        return PorterStemmer(), "porter"
    if iso in SNOWBALL_LANGUAGES:
        return SnowballStemmer(SNOWBALL_LANGUAGES[iso]), f"snowball-{SNOWBALL_LANGUAGES[iso]}"
    return _NoStemmer(), "none"


def meteor_exact_stem(hyps: Sequence[str], refs: Sequence[str], lang: str) -> float:
    """Mean sentence METEOR (x100) of nltk with exact + stem matching and no synonyms.

    Fmean = P R / (alpha P + (1 - alpha) R), penalty = gamma (chunks / matches)^beta,
    score = (1 - penalty) Fmean with nltk's defaults alpha=0.9, beta=3, gamma=0.5.
    """
    from nltk.translate.meteor_score import single_meteor_score

    tokenizer, (stemmer, _) = WordTokenizer(), meteor_stemmer(lang)
    total = sum(
        single_meteor_score(tokenizer.tokenize(ref), tokenizer.tokenize(hyp), stemmer=stemmer, wordnet=_NoSynonyms())
        for hyp, ref in zip(hyps, refs)
    )
    return 100.0 * total / len(hyps)


def score_outputs(
    hyps: Sequence[str],
    refs: Sequence[str],
    lang: str,
    metrics: Optional[Sequence[str]] = None,
    spm_model: Optional[str] = None,
) -> dict:
    """Score hypotheses against references in language ``lang``.

    ``metrics`` (default: bleu, chrf, rouge, and sp_rouge when ``spm_model`` is given) come
    from :data:`METRICS`. Returns ``{"scores": {name: value}, "settings": {...}}`` with BLEU,
    chrF, ROUGE, METEOR and the understanding scores on a 0-100 scale; ROUGE keys are ``rouge1/2/L``,
    SP-ROUGE keys ``sp_rouge1/2/L``, METEOR's key ``meteor_exact_stem``, span's ``span_f1`` and ``span_em``.
    """
    if metrics is None:
        metrics = ("bleu", "chrf", "rouge") + (("sp_rouge",) if spm_model else ())
    for metric in metrics:
        if metric == "meteor":
            raise ValueError("meteor with WordNet synonyms is not available (no licensed WordNet data package); "
                             "use meteor_exact_stem (exact + stem matches)")
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    if "sp_rouge" in metrics and not spm_model:
        raise ValueError("sp_rouge needs a SentencePiece model (spm_model)")
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    if not hyps:
        raise ValueError("nothing to score: no hypotheses")

    refs = list(refs)
    scores, settings = {}, {"lang": lang, "iso": iso_code(lang), "metrics": list(metrics)}
    if "bleu" in metrics:
        bleu = _bleu_metric(bleu_tokenizer_name(lang))
        scores["bleu"] = bleu.corpus_score(hyps, [refs]).score
        settings["bleu_signature"] = str(bleu.get_signature())
    if "chrf" in metrics:
        chrf = sacrebleu.CHRF()
        scores["chrf"] = chrf.corpus_score(hyps, [refs]).score
        settings["chrf_signature"] = str(chrf.get_signature())
    if "rouge" in metrics:
        scores.update(rouge_f1(hyps, refs, WordTokenizer()))
        settings["rouge_tokenizer"] = WordTokenizer.DESCRIPTION
    if "sp_rouge" in metrics:
        pieces = rouge_f1(hyps, refs, SentencePieceTokenizer(spm_model))
        scores.update({f"sp_{rouge_type}": value for rouge_type, value in pieces.items()})
        settings["spm_model"] = spm_model
    if "accuracy" in metrics:
        scores["accuracy"] = 100 * accuracy([h.strip() for h in hyps], [r.strip() for r in refs])
    if "tag_accuracy" in metrics:
        scores["tag_accuracy"] = 100 * tag_accuracy(hyps, refs)
    if "span" in metrics:
        spans = span_scores(hyps, refs)
        scores["span_f1"], scores["span_em"] = spans["f1"], spans["exact_match"]
        settings["span_tokenizer"] = WordTokenizer.DESCRIPTION
    if "meteor_exact_stem" in metrics:
        scores["meteor_exact_stem"] = meteor_exact_stem(hyps, refs, lang)
        settings["meteor"] = {"matches": "exact+stem, no WordNet synonyms", "stemmer": meteor_stemmer(lang)[1],
                              "tokenizer": WordTokenizer.DESCRIPTION,
                              "alpha": 0.9, "beta": 3.0, "gamma": 0.5}
    return {"scores": scores, "settings": settings}
