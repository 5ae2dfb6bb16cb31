"""Language identification of system outputs (paper 002 §5.6 and Table 9, after Vu et al. 2022).

For every output line we report the identifier's probability of the source and of the
target language and its predicted label; the summary gives the share of outputs not in the
target language and the share in the source language ("accidental translation").

Two backends share :class:`LanguageIdentifier`:

* :class:`LangidIdentifier`: the ``langid`` package (97 natural languages, model shipped
  inside the package), normalized probabilities, optionally restricted to candidate languages.
* :class:`NgramIdentifier`: a character n-gram naive-Bayes identifier trained from monolingual
  lines, for languages ``langid`` does not know (the synthetic benchmark's artificial
  languages, which borrow mBART codes). Saved and loaded as JSON.

Labels are the caller's codes (mBART ``de_DE`` or ISO ``de``). A line without any letter
(empty, or only punctuation and digits such as a lone ``?``) carries no evidence of a language:
it gets the label :data:`UNDETERMINED` and no probabilities, instead of whichever language
scores its punctuation best.
"""
import collections
import copy
import functools
import json
import math
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from fairseq_xlgen.file_io import atomic_output

#: ISO 639-1 code of every mBART-50 language code (mbart.cc25's 25 are a subset).
MBART_TO_ISO = {
    "ar_AR": "ar", "cs_CZ": "cs", "de_DE": "de", "en_XX": "en", "es_XX": "es", "et_EE": "et",
    "fi_FI": "fi", "fr_XX": "fr", "gu_IN": "gu", "hi_IN": "hi", "it_IT": "it", "ja_XX": "ja",
    "kk_KZ": "kk", "ko_KR": "ko", "lt_LT": "lt", "lv_LV": "lv", "my_MM": "my", "ne_NP": "ne",
    "nl_XX": "nl", "ro_RO": "ro", "ru_RU": "ru", "si_LK": "si", "tr_TR": "tr", "vi_VN": "vi",
    "zh_CN": "zh", "af_ZA": "af", "az_AZ": "az", "bn_IN": "bn", "fa_IR": "fa", "he_IL": "he",
    "hr_HR": "hr", "id_ID": "id", "ka_GE": "ka", "km_KH": "km", "mk_MK": "mk", "ml_IN": "ml",
    "mn_MN": "mn", "mr_IN": "mr", "pl_PL": "pl", "ps_AF": "ps", "pt_XX": "pt", "sv_SE": "sv",
    "sw_KE": "sw", "ta_IN": "ta", "te_IN": "te", "th_TH": "th", "tl_XX": "tl", "uk_UA": "uk",
    "ur_PK": "ur", "xh_ZA": "xh", "gl_ES": "gl", "sl_SI": "sl",
}
_ISO_CODES = frozenset(MBART_TO_ISO.values())

UNDETERMINED = "und"  # ISO 639-2 "undetermined": the label of a line without letters

Prediction = Tuple[str, Dict[str, float]]


def iso_code(lang: str) -> str:
    """ISO 639-1 code of an mBART code (``zh_CN`` -> ``zh``) or of an ISO code itself."""
    if lang in MBART_TO_ISO:
        return MBART_TO_ISO[lang]
    if lang in _ISO_CODES:
        return lang
    raise ValueError(
        f"unknown language code {lang!r}: use an mBART code such as en_XX, de_DE, zh_CN "
        "or an ISO 639-1 code such as en"
    )


def has_letters(text: str) -> bool:
    """Whether ``text`` holds a letter of any script (Unicode categories L*: Latin, Cyrillic, Han...)."""
    return any(ch.isalpha() for ch in text)


class LanguageIdentifier:
    """Interface of both backends: ``identify(lines) -> [(label, {label: probability})]``."""

    labels: Tuple[str, ...]

    def identify(self, lines: Iterable[str]) -> List[Prediction]:
        return [self._identify_text(line) if has_letters(line) else (UNDETERMINED, {}) for line in lines]

    def _identify_text(self, text: str) -> Prediction:
        raise NotImplementedError


@functools.lru_cache(maxsize=1)
def _langid_model():
    """langid's shipped model with normalized probabilities, decoded once per process."""
    from langid import langid

    return langid.LanguageIdentifier.from_modelstring(langid.model, norm_probs=True)


class LangidIdentifier(LanguageIdentifier):
    """``langid`` with normalized probabilities over candidate languages.

    ``languages``: the candidates (default: all 97 of langid); ``name_as``: codes under which
    to report their language (e.g. ``de_DE`` for langid's ``de``); other languages keep
    langid's ISO code.
    """

    def __init__(self, languages: Optional[Sequence[str]] = None, name_as: Sequence[str] = ()):
        # set_languages() rebinds the copy's arrays and leaves the shared full model intact
        self._identifier = copy.copy(_langid_model())
        known = set(self._identifier.nb_classes)
        candidates = list(languages) if languages else sorted(known)
        self._label_of_iso = {self._langid_code(code, known): code for code in candidates}
        for code in name_as:
            iso = self._langid_code(code, known)
            if iso not in self._label_of_iso:
                raise ValueError(f"language {code!r} is not among the candidate languages {candidates}")
            self._label_of_iso[iso] = code
        self._identifier.set_languages(list(self._label_of_iso))
        self.labels = tuple(self._label_of_iso.values())

    @staticmethod
    def _langid_code(code: str, known) -> str:
        iso = code if code in known else iso_code(code)
        if iso not in known:
            raise ValueError(
                f"langid has no model for {code!r}; use the n-gram backend "
                "(train_ngram_identifier) for this language"
            )
        return iso

    def _identify_text(self, text: str) -> Prediction:
        probs = {self._label_of_iso[iso]: float(p) for iso, p in self._identifier.rank(text)}
        return max(probs, key=probs.get), probs


class NgramIdentifier(LanguageIdentifier):
    """Multinomial naive Bayes over character 1..``order``-grams, add-``alpha`` smoothing.

    Uniform prior over languages; a line is padded with one space on each side so that
    word-initial and word-final n-grams are features.
    """

    FORMAT = "xlgen-ngram-language-identifier"

    def __init__(self, counts: Mapping[str, Mapping[str, int]], order: int = 3, alpha: float = 0.5):
        if len(counts) < 2:
            raise ValueError("an n-gram language identifier needs text of at least two languages")
        self.order, self.alpha = order, alpha
        self.counts = {lang: dict(grams) for lang, grams in counts.items()}
        self.labels = tuple(self.counts)
        vocabulary = set().union(*(grams.keys() for grams in self.counts.values()))
        self._log_prob, self._log_unseen = {}, {}
        for lang, grams in self.counts.items():
            log_total = math.log(sum(grams.values()) + alpha * (len(vocabulary) + 1))
            self._log_prob[lang] = {g: math.log(c + alpha) - log_total for g, c in grams.items()}
            self._log_unseen[lang] = math.log(alpha) - log_total

    @staticmethod
    def ngrams(text: str, order: int) -> List[str]:
        padded = f" {' '.join(text.split())} "
        return [padded[i:i + n] for n in range(1, order + 1) for i in range(len(padded) - n + 1)]

    def _identify_text(self, text: str) -> Prediction:
        grams = collections.Counter(self.ngrams(text, self.order))
        scores = {
            lang: sum(c * self._log_prob[lang].get(g, self._log_unseen[lang]) for g, c in grams.items())
            for lang in self.labels
        }
        best = max(scores.values())
        weights = {lang: math.exp(s - best) for lang, s in scores.items()}
        total = sum(weights.values())
        probs = {lang: w / total for lang, w in weights.items()}
        return max(probs, key=probs.get), probs

    def save(self, path: str) -> None:
        """Write the counts as JSON (temp file + rename)."""
        payload = {"format": self.FORMAT, "order": self.order, "alpha": self.alpha, "counts": self.counts}
        with atomic_output(path) as f:
            json.dump(payload, f, ensure_ascii=False)

    @classmethod
    def load(cls, path: str) -> "NgramIdentifier":
        with open(path, encoding="utf-8") as f:
            payload = json.load(f)
        if not isinstance(payload, dict) or payload.get("format") != cls.FORMAT:
            raise ValueError(f"{path}: not an n-gram language identifier saved by NgramIdentifier.save")
        return cls(payload["counts"], order=payload["order"], alpha=payload["alpha"])


def train_ngram_identifier(
    corpora: Mapping[str, Iterable[str]], order: int = 3, alpha: float = 0.5
) -> NgramIdentifier:
    """Count character n-grams of each language's monolingual lines."""
    counts = {}
    for lang, lines in corpora.items():
        grams = collections.Counter()
        for line in lines:
            if line.strip():
                grams.update(NgramIdentifier.ngrams(line, order))
        if not grams:
            raise ValueError(f"no training text for language {lang!r}")
        counts[lang] = grams
    return NgramIdentifier(counts, order=order, alpha=alpha)


def language_id_report(
    identifier: LanguageIdentifier, lines: Sequence[str], src_lang: str, tgt_lang: str
) -> dict:
    """Per line P(src), P(tgt) and label; summary as in paper 002 Table 9 (percentages).

    ``wrong_language_rate``: outputs whose label is not ``tgt_lang`` (letterless ones included:
    they are not in the target language either); ``source_language_rate``: outputs labelled
    ``src_lang`` (accidental translation); ``no_letters_rate``: outputs without any letter
    (label :data:`UNDETERMINED`), so ``wrong_language_rate - no_letters_rate`` is the share
    identified as another language.
    """
    for lang in (src_lang, tgt_lang):
        if lang not in identifier.labels:
            raise ValueError(f"language {lang!r} is not among the identifier's labels {list(identifier.labels)}")
    if not lines:
        raise ValueError("no lines to identify")
    per_line = [
        {"label": label, "p_src": probs.get(src_lang, 0.0), "p_tgt": probs.get(tgt_lang, 0.0)}
        for label, probs in identifier.identify(lines)
    ]
    n = len(per_line)
    summary = {
        "lines": n,
        "wrong_language_rate": 100.0 * sum(r["label"] != tgt_lang for r in per_line) / n,
        "source_language_rate": 100.0 * sum(r["label"] == src_lang for r in per_line) / n,
        "no_letters_rate": 100.0 * sum(r["label"] == UNDETERMINED for r in per_line) / n,
        "mean_p_src": 100.0 * sum(r["p_src"] for r in per_line) / n,
        "mean_p_tgt": 100.0 * sum(r["p_tgt"] for r in per_line) / n,
        "label_counts": dict(collections.Counter(r["label"] for r in per_line).most_common()),
    }
    return {"summary": summary, "per_line": per_line}
