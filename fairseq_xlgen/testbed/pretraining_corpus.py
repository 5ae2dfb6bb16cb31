"""Pretraining text for the testbed backbones: the benchmark's languages, partly code-switched.

mbart.cc25 and xlmr.base align their languages because their web text is large and full of
anchors: shared names and numerals, loanwords, and passages that mix languages. The benchmark's
monolingual corpus has only the first kind, and a tiny model pretrained on it does not align
its languages (issue 22). This module writes fresh monolingual documents of the benchmark's
languages (the same concept space, grammar and topic statistics as ``mono/``, another random
stream), in which a share of the words are replaced by the same concept's word, with the same
features, in another language (dictionary code-switching as in CoSDA-ML, Qin et al. 2020, and
Dict-MLM): each document picks one other language to mix in, as bilingual web pages do.

Only half of the concepts (:func:`switchable`, drawn per concept from the seed) are ever
switched. The other half is held out, so that a backbone's word alignment can be measured on
concepts whose words never met their translations in the pretraining text
(``bench/mbart_cross_lingual.py``, ``bench/xlmr_cross_lingual.py``). Methods under test never see
this text: it only shapes the backbones, as web text shapes the real ones.

In a zh_CN document (no spaces), a switched-in Latin or Cyrillic word is written without spaces
next to Han characters and with one space next to another non-Han word.
"""
import os

from fairseq_xlgen.testbed.meanings import MeaningSampler, draw_unique, stream_rng
from fairseq_xlgen.testbed.synthetic_benchmark import (
    EVAL_SPLITS,
    LANGUAGES,
    MONO_QUESTION_SHARE,
    MONO_SENTENCES,
    SIZES,
    build_lexica,
    check_arguments,
)
from fairseq_xlgen.file_io import atomic_output

SWITCHABLE_SHARE = 0.5  # concepts whose words may be switched; the rest is held out for evaluation


def switchable(seed, category, index):
    """Whether concept ``index`` of ``category`` may be switched in the pretraining text of ``seed``."""
    return stream_rng(seed, "switchable", category, index).random() < SWITCHABLE_SHARE


def concept_of_form(lexicon):
    """``{word form: (category, concept index, features)}`` of one language (forms are unique)."""
    concepts = {}
    for category, forms in lexicon.forms.items():
        for index, by_features in enumerate(forms):
            for features, form in by_features.items():
                concepts[form] = (category, index, features)
    return concepts


class CodeSwitcher:
    """Replaces words of switchable concepts by their translation in another language."""

    def __init__(self, lexica, seed):
        self.lexica, self.seed = lexica, seed
        self.concepts = {code: concept_of_form(lexicon) for code, lexicon in lexica.items()}
        self.allowed = {}  # (category, index) -> switchable? (cached)

    def is_switchable(self, concept):
        if concept not in self.allowed:
            self.allowed[concept] = switchable(self.seed, *concept)
        return self.allowed[concept]

    def switch(self, rng, code, tokens, share, other):
        """``tokens`` of language ``code`` with each switchable word replaced by ``other``'s with prob. ``share``."""
        switched = []
        for token in tokens:
            concept = self.concepts[code].get(token)
            if concept is not None and self.is_switchable(concept[:2]) and rng.random() < share:
                category, index, features = concept
                token = self.lexica[other].forms[category][index][features]
            switched.append(token)
        return switched


def join_tokens(code, tokens):
    """Text of a (possibly code-switched) document: spaces, or in zh_CN spaces only between non-Han words."""
    if code != "zh_CN":
        return " ".join(tokens)
    text = tokens[0] if tokens else ""
    for previous, token in zip(tokens, tokens[1:]):
        text += (" " if not _is_han(previous) and not _is_han(token) else "") + token
    return text


def _is_han(token):
    return any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in token)


def pretraining_documents(seed, size, code, lines, switch_share, langs=LANGUAGES):
    """``lines`` documents (token lists) of language ``code``, ``switch_share`` of their switchable words
    switched."""
    space, lexica = build_lexica(seed, size, langs)
    sampler, switcher = MeaningSampler(space), CodeSwitcher(lexica, seed)
    rng, lexicon = stream_rng(seed, "pretraining", code), lexica[code]
    others = [other for other in langs if other != code]
    for _ in range(lines):
        tokens = [token for meaning in sampler.document(rng, MONO_SENTENCES)
                  for token in (lexicon.question if rng.random() < MONO_QUESTION_SHARE else lexicon.sentence)(meaning)]
        if switch_share > 0 and others:
            other = others[int(rng.random() * len(others))]
            tokens = switcher.switch(rng, code, tokens, switch_share, other)
        yield tokens


def translation_pairs(seed, size, src, tgt, lines, langs=LANGUAGES):
    """``lines`` (source, target) translations of fresh meanings built from switchable concepts only
    (the held-out half is never paired), none of them a meaning of the benchmark's parallel splits."""
    space, lexica = build_lexica(seed, size, langs)
    sampler, switcher = MeaningSampler(space), CodeSwitcher(lexica, seed)
    seen = set()
    for split in EVAL_SPLITS + ("train",):  # the benchmark's own draws, in its order, to leave them out
        draw_unique(stream_rng(seed, "parallel", split), sampler.meaning, SIZES[size]["parallel"][split], seen)
    rng, written = stream_rng(seed, "pretraining", src, tgt), 0
    while written < lines:
        meaning = sampler.meaning(rng)
        tokens = lexica[src].sentence(meaning)
        concepts = [switcher.concepts[src].get(token) for token in tokens]
        if meaning in seen or not all(switcher.is_switchable(c[:2]) for c in concepts if c is not None):
            continue
        seen.add(meaning)
        written += 1
        yield join_tokens(src, tokens), join_tokens(tgt, lexica[tgt].sentence(meaning))


def write_pretraining_corpus(out_dir, seed=1, size="small", lines=20000, switch_share=0.3, langs=None,
                             pairs=(), pair_lines=0):
    """Write ``out_dir/<code>.txt`` per language and ``out_dir/pairs.<src>-<tgt>.<code>`` per pair
    (atomically); returns ``(monolingual paths, [(source path, target path)])``."""
    seed, langs = check_arguments(seed, size, langs)
    if lines < 1:
        raise ValueError(f"invalid --lines {lines}: expected a positive number of documents per language")
    if not 0 <= switch_share <= 1:
        raise ValueError(f"invalid --switch-share {switch_share}: expected a share between 0 and 1")
    for src, tgt in pairs:
        if src not in langs or tgt not in langs or src == tgt:
            raise ValueError(f"invalid --pairs {src}-{tgt}: two different languages of {','.join(langs)}")
    paths = []
    for code in langs:
        path = os.path.join(out_dir, f"{code}.txt")
        with atomic_output(path) as f:
            f.writelines(join_tokens(code, tokens) + "\n"
                         for tokens in pretraining_documents(seed, size, code, lines, switch_share, langs))
        paths.append(path)
    pair_paths = []
    for src, tgt in pairs:
        prefix = os.path.join(out_dir, f"pairs.{src}-{tgt}.")
        with atomic_output(prefix + src) as f_src, atomic_output(prefix + tgt) as f_tgt:
            for source, target in translation_pairs(seed, size, src, tgt, pair_lines, langs):
                f_src.write(source + "\n")
                f_tgt.write(target + "\n")
        pair_paths.append((prefix + src, prefix + tgt))
    return paths, pair_paths


def held_out_forms(seed, size, code):
    """Every word form of ``code`` whose concept is never switched (for word-retrieval evaluation)."""
    _, lexica = build_lexica(seed, size, (code,))
    return {form for form, (category, index, _) in concept_of_form(lexica[code]).items()
            if not switchable(seed, category, index)}
