"""The benchmark's four artificial languages: word shapes, grammars, scripts and the lexicon that
renders a meaning (:mod:`fairseq_xlgen.testbed.meanings`) as tokens of one language.

The languages borrow mBART-cc25 codes (en_XX, de_DE, ru_RU, zh_CN) so that the pretrained-model
plumbing (language tokens such as ``[de_DE]``) works unchanged; they are NOT English, German, Russian
or Chinese (docs/synthetic_benchmark.md, "The languages").
"""
import itertools
from dataclasses import dataclass
from typing import Callable

from fairseq_xlgen.testbed.meanings import (
    NAME_SYLLABLES, NOUN_CLASSES, NUMERALS, RESERVED_WORDS, TENSES, Clause, choose, stream_rng,
)

FUNCTION_WORDS = ("and", "who", "what")  # shared by all languages, in the gold lexicons
NUMBERS = ("sg", "pl")
CASES = ("nom", "acc")
FEATURES = {  # the inflectional features of each category; () = uninflected
    "noun": tuple(itertools.product(NUMBERS, CASES)),
    "adjective": tuple(itertools.product(NOUN_CLASSES, NUMBERS, CASES)),
    "verb": tuple(itertools.product(TENSES, NUMBERS)),
}
HAN_WORD_START, HAN_WORD_COUNT = 0x4E00, 3000  # Han characters of ordinary words
HAN_NAME_START = 0x6C00  # one Han character per name syllable (disjoint from the above)
CYRILLIC_LETTERS = str.maketrans("kmtrsnldbpgvaeiou", "кмтрснлдбпгваеиоу")


# --------------------------------------------------------------------------- languages
@dataclass(frozen=True)
class WordShape:
    """How pseudo-words are coined: syllables (onset+nucleus+coda), or Han characters."""

    length_thresholds: tuple  # rank fractions at which words get one unit longer
    onsets: tuple = ()
    nuclei: tuple = ()
    codas: tuple = ()  # of inner syllables
    final_codas: tuple = ()  # of the last syllable

    def units(self, rank_fraction):
        return 1 + sum(rank_fraction >= t for t in self.length_thresholds)

    def word(self, rng, units):
        if not self.onsets:
            return "".join(chr(HAN_WORD_START + int(rng.random() * HAN_WORD_COUNT)) for _ in range(units))
        codas = [self.codas] * (units - 1) + [self.final_codas]
        return "".join(choose(rng, self.onsets) + choose(rng, self.nuclei) + choose(rng, c) for c in codas)


def _inventory(units):
    """Space-separated sound units; '_' is the empty one."""
    return tuple("" if unit == "_" else unit for unit in units.split())


def _no_suffix(*features):
    return ""


@dataclass(frozen=True)
class LanguageSpec:
    """Grammar and writing system of one artificial language."""

    code: str
    script: str  # Latin, Cyrillic or Han
    morphology: str  # one-line description (meta.json, docs)
    shape: WordShape
    clause_order: str  # slots S(ubject) V(erb) O(bject) T(ime)
    phrase_order: str  # NUM(eral) CLF (classifier) ADJ HEAD PL(ural particle)
    verb_order: str  # FUT(ure particle) VERB PAST (particle)
    wh_fronting: bool  # questions move the question word to the front
    period: str
    question_mark: str
    noun_suffix: Callable = _no_suffix  # (noun class, number, case)
    adjective_suffix: Callable = _no_suffix  # (noun class, number, case) of the head noun
    verb_suffix: Callable = _no_suffix  # (tense, subject number)
    particles: tuple = ()  # language-specific function words (no gold translation)

    @property
    def joiner(self):
        return "" if self.script == "Han" else " "

    def inflect(self, category, stem, noun_class=0):
        """Every form of a stem, keyed by its features."""
        if category == "noun":
            return {f: stem + self.noun_suffix(noun_class, *f) for f in FEATURES["noun"]}
        if category == "adjective":
            return {f: stem + self.adjective_suffix(*f) for f in FEATURES["adjective"]}
        if category == "verb":
            return {f: stem + self.verb_suffix(*f) for f in FEATURES["verb"]}
        return {(): stem}

    def write_name(self, syllables):
        if self.script == "Han":
            return "".join(chr(HAN_NAME_START + NAME_SYLLABLES.index(s)) for s in syllables)
        name = "".join(syllables)
        return (name.translate(CYRILLIC_LETTERS) if self.script == "Cyrillic" else name).capitalize()

    def describe(self):
        return {"script": self.script, "clause_order": self.clause_order,
                "noun_phrase_order": self.phrase_order, "verb_group_order": self.verb_order,
                "wh_fronting": self.wh_fronting, "spaces_between_words": self.joiner == " ",
                "sentence_end": self.period, "question_end": self.question_mark,
                "morphology": self.morphology}


DE_NOUN = {("sg", "nom"): "", ("sg", "acc"): "en", ("pl", "nom"): "er", ("pl", "acc"): "ern"}
DE_VERB = {("past", "sg"): "te", ("past", "pl"): "ten", ("nonpast", "sg"): "t", ("nonpast", "pl"): "en"}
RU_NOUN = {0: ("", "а", "ы", "ов"), 1: ("а", "у", "и", "ей"), 2: ("о", "о", "а", "ам")}  # sg.nom sg.acc pl.nom pl.acc
RU_ADJECTIVE = {0: ("ый", "ого"), 1: ("ая", "ую"), 2: ("ое", "ое"), "pl": ("ые", "ых")}  # nom acc
RU_VERB = {"past": ("ал", "али"), "present": ("ет", "ют"), "future": ("ит", "ят")}  # sg pl

LANGUAGE_SPECS = {spec.code: spec for spec in (
    LanguageSpec(
        "en_XX", "Latin", "noun plural -s; verb past -ed, present singular -s",
        WordShape((0.15, 0.75), _inventory("b c d f g h j k l m n p r s t v w br cl dr fl gr pl sh st th tr"),
                  _inventory("a e i o u ea oo ai ou"), _inventory("_ _ _ n r l m"),
                  _inventory("_ n t ck ll nd st m r sh p")),
        "S V O T", "NUM ADJ HEAD", "VERB", True, ".", "?",
        noun_suffix=lambda cls, number, case: "s" if number == "pl" else "",
        verb_suffix=lambda tense, number: "ed" if tense == "past" else ("s" if number == "sg" else "")),
    LanguageSpec(
        "de_DE", "Latin", "noun case x number suffixes; adjective case agreement; verb past/non-past x number",
        WordShape((0.15, 0.75), _inventory("b d f g h k l m n p r s t w z sch pf kl kr st tr gr br fr schw zw"),
                  _inventory("a e i o u ä ö ü ei au ie"), _inventory("_ _ n r l"),
                  _inventory("n r ch lt ng st tz ck rn l m")),
        "T S O V", "NUM ADJ HEAD", "VERB", True, ".", "?",
        noun_suffix=lambda cls, number, case: DE_NOUN[number, case],
        adjective_suffix=lambda cls, number, case: "e" if case == "nom" else "en",
        verb_suffix=lambda tense, number: DE_VERB["past" if tense == "past" else "nonpast", number]),
    LanguageSpec(
        "ru_RU", "Cyrillic", "noun class x case x number suffixes; adjective agreement (after the noun); "
        "verb tense x number suffixes",
        WordShape((0.15, 0.75), _inventory("б в г д ж з к л м н п р с т ф х ц ч ш бр гр др кр пр ст тр зв сл вл"),
                  _inventory("а е и о у ы я ю"), _inventory("_ _ н р л"), _inventory("н р л с к т д в м ш")),
        "O S V T", "NUM HEAD ADJ", "VERB", False, ".", "?",
        noun_suffix=lambda cls, number, case: RU_NOUN[cls][2 * NUMBERS.index(number) + CASES.index(case)],
        adjective_suffix=lambda cls, number, case: RU_ADJECTIVE[cls if number == "sg" else "pl"][CASES.index(case)],
        verb_suffix=lambda tense, number: RU_VERB[tense][NUMBERS.index(number)]),
    LanguageSpec(
        "zh_CN", "Han", "none; separate particles for plural, numeral classifier, past and future",
        WordShape((0.3,)), "S T V O", "NUM CLF ADJ HEAD PL", "FUT VERB PAST", False, "。", "？",
        particles=("plural", "classifier", "past", "future")),
)}


class Lexicon:
    """One language's word forms for every concept of the shared space, and its renderer."""

    def __init__(self, spec, space, seed):
        self.spec, self.space = spec, space
        self.clause_order, self.phrase_order, self.verb_order = (
            spec.clause_order.split(), spec.phrase_order.split(), spec.verb_order.split())
        rng, used = stream_rng(seed, "lexicon", spec.code), set()

        def coin(rank_fraction, category="function", noun_class=0):
            units = spec.shape.units(rank_fraction)
            for attempt in itertools.count():  # lengthen words if the short ones run out
                forms = spec.inflect(category, spec.shape.word(rng, units + attempt // 20), noun_class)
                if used.isdisjoint(forms.values()) and not any(form.lower() in RESERVED_WORDS for form in forms.values()):
                    used.update(forms.values())
                    return forms

        self.forms = {"function": [coin(0.0) for _ in FUNCTION_WORDS]}
        self.particles = {name: coin(0.0)[()] for name in spec.particles}
        for category in ("noun", "adjective", "verb", "time"):
            n = space.counts[category]
            classes = space.noun_class if category == "noun" else [0] * n
            self.forms[category] = [coin(rank / n, category, classes[rank]) for rank in range(n)]
        self.forms["name"] = [{(): spec.write_name(name)} for name in space.names]

    def function_word(self, name):
        return self.forms["function"][FUNCTION_WORDS.index(name)][()]

    def _particle(self, name, wanted):
        return [self.particles[name]] if wanted and name in self.particles else []

    def noun_phrase(self, phrase, case):
        if phrase.is_name:
            return [self.forms["name"][phrase.head][()]]
        number = "pl" if phrase.plural else "sg"
        noun_class = self.space.noun_class[phrase.head]
        slots = {
            "NUM": [str(phrase.numeral)] if phrase.numeral else [],
            "CLF": self._particle("classifier", phrase.numeral),
            "ADJ": [] if phrase.adjective is None else
                   [self.forms["adjective"][phrase.adjective][noun_class, number, case]],
            "HEAD": [self.forms["noun"][phrase.head][number, case]],
            "PL": self._particle("plural", phrase.plural and not phrase.numeral),
        }
        return [word for slot in self.phrase_order for word in slots[slot]]

    def clause(self, clause, object_words=None):
        """Tokens of a clause; `object_words` replaces the rendered object."""
        number = "pl" if clause.subject.plural else "sg"
        verb = {
            "FUT": self._particle("future", clause.tense == "future"),
            "VERB": [self.forms["verb"][clause.verb][clause.tense, number]],
            "PAST": self._particle("past", clause.tense == "past"),
        }
        slots = {
            "S": self.noun_phrase(clause.subject, "nom"),
            "V": [word for slot in self.verb_order for word in verb[slot]],
            "O": object_words or self.noun_phrase(clause.obj, "acc"),
            "T": [] if clause.time is None else [self.forms["time"][clause.time][()]],
        }
        return [word for slot in self.clause_order for word in slots[slot]]

    def sentence(self, meaning):
        tokens = self.clause(meaning.clauses[0])
        for clause in meaning.clauses[1:]:
            tokens += [self.function_word("and")] + self.clause(clause)
        return tokens + [self.spec.period]

    def document(self, meanings):
        return [token for meaning in meanings for token in self.sentence(meaning)]

    def summary(self, meanings):
        """The first clause of the first sentence without modifiers or time expression."""
        first = meanings[0].clauses[0]
        core = Clause(first.subject.core(), first.verb, first.obj.core(), None, first.tense)
        return self.clause(core) + [self.spec.period]

    def question(self, meaning):
        """A who/what question about the object of the first clause."""
        first = meaning.clauses[0]
        animate = first.obj.is_name or self.space.animate[first.obj.head]
        question_word = self.function_word("who" if animate else "what")
        tokens = self.clause(first, object_words=[question_word])
        if self.spec.wh_fronting:
            tokens.remove(question_word)
            tokens.insert(0, question_word)
        return tokens + [self.spec.question_mark]

    def text(self, tokens):
        return self.spec.joiner.join(tokens)


def gold_pairs(src, tgt, src_vocabulary, tgt_vocabulary):
    """(source form, target form) pairs of one concept with equal features, both attested."""
    pairs = {(str(n), str(n)) for n in NUMERALS}
    for category, concepts in src.forms.items():
        for src_forms, tgt_forms in zip(concepts, tgt.forms[category]):
            pairs.update((form, tgt_forms[features]) for features, form in src_forms.items())
    return sorted((s, t) for s, t in pairs if s in src_vocabulary and t in tgt_vocabulary)
