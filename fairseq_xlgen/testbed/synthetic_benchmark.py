"""Synthetic multilingual benchmark: artificial languages that share one meaning space.

The four languages borrow mBART-cc25 codes (en_XX, de_DE, ru_RU, zh_CN) so that the
pretrained-model plumbing (language tokens such as ``[de_DE]``) works unchanged; they are
artificial languages, NOT English, German, Russian or Chinese. A meaning (a small
structured record) is rendered into every language with that language's lexicon, word
order, morphology and script. Meanings are not independent draws: a latent topic per
sentence (per document in mono and summarization) decides which concepts co-occur, so every
language inherits the same co-occurrence statistics and word embeddings trained on each
language's monolingual text are approximately isomorphic (what unsupervised lexicon induction
needs). Every random choice comes from a named stream derived from the seed, so equal
(seed, size) give byte-identical files, and a language's files do not depend on which other
languages are generated. The format is in docs/synthetic_benchmark.md.
"""
import contextlib
import gc
import hashlib
import itertools
import json
import math
import operator
import os
import random
import shutil
import tempfile
from bisect import bisect
from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional

from tqdm import tqdm

GENERATOR_VERSION = 2  # 2: topics, clause number, multi-sentence mono documents, no reserved words
META_NOTE = ("artificial languages that borrow mBART-cc25 codes; gold lexicon lines pair the forms of one "
             "concept with equal features (lemmas, inflections, names, numerals, 'and'), attested in the "
             "mono/parallel text of both languages")
LANGUAGES = ("en_XX", "de_DE", "ru_RU", "zh_CN")
SPLITS = ("train", "valid", "test")
EVAL_SPLITS = ("test", "valid")
SIZES = {
    "tiny": {"concepts": 200, "mono": 300,
             "parallel": {"train": 200, "valid": 50, "test": 50},
             "tasks": {"train": 200, "valid": 40, "test": 40}},
    "small": {"concepts": 1000, "mono": 5000,
              "parallel": {"train": 2000, "valid": 200, "test": 200},
              "tasks": {"train": 2000, "valid": 200, "test": 200}},
    "base": {"concepts": 4000, "mono": 50000,
             "parallel": {"train": 20000, "valid": 500, "test": 500},
             "tasks": {"train": 20000, "valid": 500, "test": 500}},
}
CATEGORY_SHARES = {"noun": 0.40, "adjective": 0.20, "verb": 0.20, "time": 0.05, "name": 0.15}
MONO_QUESTION_SHARE = 0.1  # monolingual text mixes in questions like the title task's (share of sentences)
MONO_SENTENCES = (1, 3)  # sentences per monolingual line (a short document on one topic)
# Co-occurrence structure, shared by all languages (see MeaningSampler)
CONCEPTS_PER_TOPIC = 8  # n_topics = concepts // CONCEPTS_PER_TOPIC; a topic lists ~4x that many
TOPICS_PER_CONCEPT = 4  # each concept (numerals too) belongs to this many topics
TOPICS_PER_DOMAIN = 5  # n_domains = n_topics // TOPICS_PER_DOMAIN; domain sizes are Zipfian
DOMAIN_EXPONENT = 1.5  # of the Zipfian domain sizes (unequal clusters help unsupervised mapping)
IN_DOMAIN_TOPIC_SHARE = 0.8  # chance that each of a concept's topics is one of its domain's
TOPIC_NOISE = 0.02  # share of slots drawn from the topic-free Zipfian distribution
PLURAL_CLAUSE_SHARE = 0.35  # clauses about groups: their noun phrases are mostly plural
PLURAL_PROBABILITY = {True: 0.95, False: 0.03}  # P(plural noun phrase | group clause?); overall ~0.35
SAME_HEAD_RETRIES = 10  # redraws of an object that repeats its subject
# Never coined: words that read as a Python/JSON literal (a "None" token looks like a bug)
RESERVED_WORDS = frozenset({"none", "true", "false", "null", "nil", "nan", "inf", "infinity", "undefined"})
FUNCTION_WORDS = ("and", "who", "what")  # shared by all languages, in the gold lexicons
NUMERALS = tuple(range(2, 100))  # written as digits in every language
TENSES = ("past", "present", "future")
NUMBERS = ("sg", "pl")
CASES = ("nom", "acc")
NOUN_CLASSES = (0, 1, 2)
FEATURES = {  # the inflectional features of each category; () = uninflected
    "noun": tuple(itertools.product(NUMBERS, CASES)),
    "adjective": tuple(itertools.product(NOUN_CLASSES, NUMBERS, CASES)),
    "verb": tuple(itertools.product(TENSES, NUMBERS)),
}
HAN_WORD_START, HAN_WORD_COUNT = 0x4E00, 3000  # Han characters of ordinary words
HAN_NAME_START = 0x6C00  # one Han character per name syllable (disjoint from the above)
NAME_SYLLABLES = tuple(c + v for c in "kmtrsnldbpgv" for v in "aeiou")
CYRILLIC_LETTERS = str.maketrans("kmtrsnldbpgvaeiou", "кмтрснлдбпгваеиоу")


def stream_rng(seed, *stream):
    """A random generator for one named stream; only its random() is used (stable across Pythons)."""
    digest = hashlib.sha256("/".join(map(str, (seed,) + stream)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _choice(rng, options):
    return options[int(rng.random() * len(options))]


class ZipfSampler:
    """Draws ranks 0..n-1 with P(rank) proportional to 1 / (rank + 1) ** exponent."""

    def __init__(self, n, exponent=1.0):
        self.n = n
        self.cumulative = list(itertools.accumulate((r + 1) ** -exponent for r in range(n)))
        self.total, self.cumulative[-1] = self.cumulative[-1], math.inf  # no rank n on rounding

    def __call__(self, rng):
        return bisect(self.cumulative, rng.random() * self.total)


# ---------------------------------------------------------------------------- meanings
class NounPhrase(NamedTuple):
    """A common noun (optionally with adjective and plural numeral) or a proper name."""

    head: int
    is_name: bool = False
    adjective: Optional[int] = None
    plural: bool = False
    numeral: Optional[int] = None

    def core(self):
        """The phrase without modifiers (plurality is kept)."""
        return NounPhrase(self.head, self.is_name, plural=self.plural)


class Clause(NamedTuple):
    """Subject - verb - object, with an optional time expression that sets the tense."""

    subject: NounPhrase
    verb: int
    obj: NounPhrase
    time: Optional[int] = None
    tense: str = "present"


class Meaning(NamedTuple):
    """One sentence: one clause, or two joined by 'and'."""

    clauses: tuple


@dataclass(frozen=True)
class ConceptSpace:
    """Concepts per category (index = frequency rank) and their language-independent attributes."""

    counts: dict
    noun_class: tuple  # grammatical class (ru_RU noun and adjective endings)
    animate: tuple  # only animate nouns (and names) are subjects; asked about with 'who'
    time_tense: tuple  # tense each time expression implies
    names: tuple  # each proper name as a tuple of NAME_SYLLABLES
    n_topics: int
    domains: tuple  # the topics of each domain
    topics: dict  # category (and "numeral", by index into NUMERALS) -> per concept, its topics

    @classmethod
    def build(cls, seed, n_concepts):
        rng, topic_rng = stream_rng(seed, "concepts"), stream_rng(seed, "topics")
        counts = {cat: round(share * n_concepts) for cat, share in CATEGORY_SHARES.items()}
        n_topics = max(2 * TOPICS_PER_CONCEPT, n_concepts // CONCEPTS_PER_TOPIC)
        domain_of = ZipfSampler(max(2, n_topics // TOPICS_PER_DOMAIN), DOMAIN_EXPONENT)
        domains = [[] for _ in range(domain_of.n)]
        for topic in range(n_topics):
            domains[domain_of(topic_rng)].append(topic)
        return cls(
            counts=counts,
            noun_class=tuple(_choice(rng, NOUN_CLASSES) for _ in range(counts["noun"])),
            animate=tuple(i == 0 or rng.random() < 0.4 for i in range(counts["noun"])),
            time_tense=tuple(TENSES[i % len(TENSES)] for i in range(counts["time"])),
            names=tuple(draw_unique(rng, _random_name, counts["name"], set())),
            n_topics=n_topics,
            domains=tuple(map(tuple, domains)),
            topics={cat: tuple(_concept_topics(topic_rng, n_topics, domains[domain_of(topic_rng)]) for _ in range(n))
                    for cat, n in dict(counts, numeral=len(NUMERALS)).items()},
        )


def _random_name(rng):
    while True:
        name = tuple(_choice(rng, NAME_SYLLABLES) for _ in range(2 + (rng.random() < 0.4)))
        if "".join(name) not in RESERVED_WORDS:
            return name


def _concept_topics(rng, n_topics, domain):
    """TOPICS_PER_CONCEPT distinct topics, each from `domain` (a list of topics) with
    probability IN_DOMAIN_TOPIC_SHARE, else from all topics."""
    topics = []
    while len(topics) < TOPICS_PER_CONCEPT:
        in_domain = domain and rng.random() < IN_DOMAIN_TOPIC_SHARE
        topic = domain[int(rng.random() * len(domain))] if in_domain else int(rng.random() * n_topics)
        if topic not in topics:
            topics.append(topic)
    return tuple(topics)


class MeaningSampler:
    """Samples meanings with Zipfian concept frequencies and topical co-occurrence.

    Each sentence (a whole document, if asked) has one latent topic; every concept belongs to
    TOPICS_PER_CONCEPT topics, mostly of its domain (ConceptSpace). A slot (subject, verb,
    object, adjective, numeral, time expression, name) is filled from the concepts of the
    sentence's topic, weighted by their Zipfian prior (TOPIC_NOISE of the slots ignore the
    topic). A concept's contexts are thus the other members of its topics: a combination that
    identifies it and that is the same in every language. Domains of Zipfian sizes group the
    concepts into clusters of different sizes, the coarse structure from which unsupervised
    embedding mapping can start. A clause is also about a group (mostly plural noun phrases)
    or about individuals (mostly singular), so that plural and singular forms have different
    contexts.
    """

    def __init__(self, space):
        self.space = space
        animate_nouns = [i for i, animate in enumerate(space.animate) if animate]
        slots = {  # slot -> (category, candidate concepts in frequency order)
            "subject": ("noun", animate_nouns),
            "object": ("noun", range(space.counts["noun"])),
            "numeral": ("numeral", range(len(NUMERALS))),
            **{cat: (cat, range(space.counts[cat])) for cat in ("adjective", "verb", "time", "name")},
        }
        # slot -> its candidates with their Zipfian prior weights, in frequency order, per topic
        self.candidates = {slot: [[] for _ in range(space.n_topics)] for slot in slots}
        self.tables = {}  # (slot, topic or None) -> cumulative weights; built on first use
        for slot, (category, concepts) in slots.items():
            weighted = [(concept, (rank + 1) ** -1.0) for rank, concept in enumerate(concepts)]
            self.tables[slot, None] = self._table(weighted)
            for concept, weight in weighted:
                for topic in space.topics[category][concept]:
                    self.candidates[slot][topic].append((concept, weight))

    @staticmethod
    def _table(weighted):
        cumulative = list(itertools.accumulate(weight for _, weight in weighted))
        total, cumulative[-1] = cumulative[-1], math.inf  # no index past the end on rounding
        return cumulative, total, [concept for concept, _ in weighted]

    def draw(self, rng, slot, topic):
        """A concept index for `slot` from `topic`'s members (or, rarely, from all concepts)."""
        if rng.random() < TOPIC_NOISE:
            topic = None
        table = self.tables.get((slot, topic))
        if table is None:  # a topic without candidates for the slot falls back on all of them
            members = self.candidates[slot][topic]
            table = self.tables[slot, topic] = self._table(members) if members else self.tables[slot, None]
        cumulative, total, concepts = table
        return concepts[bisect(cumulative, rng.random() * total)]

    def topic(self, rng):
        """Topics are equally likely; concept frequencies come from the Zipfian priors."""
        return int(rng.random() * self.space.n_topics)

    def noun_phrase(self, rng, topic, subject, group):
        if rng.random() < (0.2 if subject else 0.1):
            return NounPhrase(self.draw(rng, "name", topic), is_name=True)
        head = self.draw(rng, "subject" if subject else "object", topic)
        adjective = self.draw(rng, "adjective", topic) if rng.random() < 0.5 else None
        plural = rng.random() < PLURAL_PROBABILITY[group]
        numeral = NUMERALS[self.draw(rng, "numeral", topic)] if plural and rng.random() < 0.5 else None
        return NounPhrase(head, False, adjective, plural, numeral)

    def clause(self, rng, topic):
        group = rng.random() < PLURAL_CLAUSE_SHARE
        subject, verb = self.noun_phrase(rng, topic, True, group), self.draw(rng, "verb", topic)
        for _ in range(SAME_HEAD_RETRIES):  # "X sees X" only when a topic offers nothing else
            obj = self.noun_phrase(rng, topic, False, group)
            if (obj.head, obj.is_name) != (subject.head, subject.is_name):
                break
        time = self.draw(rng, "time", topic) if rng.random() < 0.4 else None
        tense = "present" if time is None else self.space.time_tense[time]
        return Clause(subject, verb, obj, time, tense)

    def meaning(self, rng, topic=None):
        """One sentence on `topic` (drawn if None)."""
        topic = self.topic(rng) if topic is None else topic
        return Meaning(tuple(self.clause(rng, topic) for _ in range(1 + (rng.random() < 0.25))))

    def document(self, rng, lengths=(2, 4)):
        """`lengths[0]`..`lengths[1]` sentences on one topic."""
        topic, (shortest, longest) = self.topic(rng), lengths
        return tuple(self.meaning(rng, topic) for _ in range(shortest + int(rng.random() * (longest - shortest + 1))))


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
        return "".join(_choice(rng, self.onsets) + _choice(rng, self.nuclei) + _choice(rng, c) for c in codas)


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


def build_lexica(seed, size, langs=LANGUAGES):
    """The concept space and one Lexicon per language for (seed, size)."""
    space = ConceptSpace.build(seed, SIZES[size]["concepts"])
    return space, {code: Lexicon(LANGUAGE_SPECS[code], space, seed) for code in langs}


def gold_pairs(src, tgt, src_vocabulary, tgt_vocabulary):
    """(source form, target form) pairs of one concept with equal features, both attested."""
    pairs = {(str(n), str(n)) for n in NUMERALS}
    for category, concepts in src.forms.items():
        for src_forms, tgt_forms in zip(concepts, tgt.forms[category]):
            pairs.update((form, tgt_forms[features]) for features, form in src_forms.items())
    return sorted((s, t) for s, t in pairs if s in src_vocabulary and t in tgt_vocabulary)


def load_gold_lexicon(path):
    """Read a ``src<TAB>tgt`` lexicon into {source word: [target words in file order]}."""
    lexicon = {}
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 2:
                raise ValueError(f"{path}:{line_number}: expected 'source<TAB>target', got {line!r}")
            targets = lexicon.setdefault(fields[0], [])
            if fields[1] not in targets:
                targets.append(fields[1])
    return lexicon


# -------------------------------------------------------------------------- corpora
def draw_unique(rng, draw, n, seen):
    """`n` items from `draw(rng)` that are not in `seen` (which is updated)."""
    items = []
    while len(items) < n:
        item = draw(rng)
        if item not in seen:
            seen.add(item)
            items.append(item)
    return items


def segmentation_path(path):
    """Where the space-separated gold segmentation of an unspaced (zh_CN) file lives."""
    return path[: -len(".txt")] + ".words.txt" if path.endswith(".txt") else path + ".words"


def _build_files(seed, size, langs, progress):
    """All output files as {relative path: lines}."""
    counts = SIZES[size]
    bar = tqdm(total=3 + 3 * len(langs), desc=f"synthetic benchmark ({size})", unit="corpus",
               disable=not progress)
    space, lexica = build_lexica(seed, size, langs)
    sampler = MeaningSampler(space)
    files, vocabulary = {}, {code: set() for code in langs}

    def add(path, code, token_lists, attested=False):
        lexicon = lexica[code]
        files[path] = [lexicon.text(tokens) for tokens in token_lists]
        if lexicon.spec.joiner != " ":
            files[segmentation_path(path)] = [" ".join(tokens) for tokens in token_lists]
        if attested:
            vocabulary[code].update(token for tokens in token_lists for token in tokens)

    for code in langs:
        rng, lexicon = stream_rng(seed, "mono", code), lexica[code]
        mono = [[token for meaning in sampler.document(rng, MONO_SENTENCES)
                 for token in (lexicon.question if rng.random() < MONO_QUESTION_SHARE else lexicon.sentence)(meaning)]
                for _ in range(counts["mono"])]
        add(f"mono/{code}.txt", code, mono, attested=True)
        bar.update()

    seen = set()  # one multi-way parallel corpus; splits are disjoint
    for split in EVAL_SPLITS + ("train",):
        meanings = draw_unique(stream_rng(seed, "parallel", split), sampler.meaning, counts["parallel"][split], seen)
        sentences = {code: [lexica[code].sentence(m) for m in meanings] for code in langs}
        for l1, l2 in itertools.combinations(sorted(langs), 2):
            for code in (l1, l2):
                add(f"parallel/{split}.{l1}-{l2}.{code}", code, sentences[code], attested=True)
        for src, tgt in itertools.permutations(langs, 2):
            for code in (src, tgt):
                add(f"tasks/translation/{src}-{tgt}/{split}.{code}", code, sentences[code])
        bar.update()

    tasks = {"summarization": (sampler.document, Lexicon.document, Lexicon.summary),
             "title": (sampler.meaning, Lexicon.sentence, Lexicon.question)}
    for task, (draw, source, target) in tasks.items():
        shared = set()  # valid/test meanings are the same in every language
        splits = {split: draw_unique(stream_rng(seed, task, split), draw, counts["tasks"][split], shared)
                  for split in EVAL_SPLITS}
        for code in langs:
            splits["train"] = draw_unique(stream_rng(seed, task, "train", code), draw, counts["tasks"]["train"], set(shared))
            for split, items in splits.items():
                add(f"tasks/{task}/{code}/{split}.source", code, [source(lexica[code], x) for x in items])
                add(f"tasks/{task}/{code}/{split}.target", code, [target(lexica[code], x) for x in items])
            bar.update()

    for src, tgt in itertools.permutations(langs, 2):
        pairs = gold_pairs(lexica[src], lexica[tgt], vocabulary[src], vocabulary[tgt])
        files[f"lexicon/{src}-{tgt}.gold.tsv"] = [f"{s}\t{t}" for s, t in pairs]
    bar.close()
    return files, space


@contextlib.contextmanager
def _gc_paused():
    """Millions of small live tuples make the cyclic garbage collector the main cost."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------- output
def check_arguments(seed, size, langs):
    """(seed, canonical language tuple); one-line ValueErrors for bad values."""
    try:
        seed = operator.index(seed)
    except TypeError:
        raise ValueError(f"invalid --seed {seed!r}; expected an integer") from None
    if size not in SIZES:
        raise ValueError(f"unknown --size {size!r}; allowed: {', '.join(SIZES)}")
    if langs is None:
        return seed, LANGUAGES
    codes = [code.strip() for code in (langs.split(",") if isinstance(langs, str) else langs)]
    unknown = [code for code in codes if code not in LANGUAGES]
    if unknown or not codes:
        raise ValueError(f"invalid --langs value {','.join(codes)!r}: unknown code(s) {','.join(unknown)!r}; "
                         f"allowed: {','.join(LANGUAGES)} (comma-separated, at least one)")
    return seed, tuple(code for code in LANGUAGES if code in codes)


def generate_benchmark(out_dir, seed=1, size="small", langs=None, progress=True, force=False):
    """Write the benchmark into `out_dir` atomically and return its meta (see module docstring).

    An `out_dir` holding a benchmark of the same settings is returned as is (cache); one of
    other settings raises FileExistsError unless `force`. Anything else that is not an empty
    directory is never replaced.
    """
    seed, langs = check_arguments(seed, size, langs)
    settings = {"generator_version": GENERATOR_VERSION, "seed": seed, "size": size, "langs": list(langs)}
    existing = _read_meta(out_dir)
    if existing is not None and not force and {key: existing.get(key) for key in settings} == settings:
        return existing
    if existing is None and os.path.lexists(out_dir) and not (os.path.isdir(out_dir) and not os.listdir(out_dir)):
        raise FileExistsError(f"{out_dir} exists and is not a synthetic benchmark directory; "
                              "refusing to replace it (choose another --out)")
    if existing is not None and not force:
        old_settings = {key: existing.get(key) for key in settings}
        raise FileExistsError(f"{out_dir} holds a benchmark with other settings {old_settings}; "
                              "pass force=True (--force) to replace it")
    with _gc_paused():
        files, space = _build_files(seed, size, langs, progress)
    meta = dict(settings, note=META_NOTE, sizes=SIZES[size], concepts=space.counts,
                cooccurrence={"topics": space.n_topics, "topics_per_concept": TOPICS_PER_CONCEPT,
                              "domains": len(space.domains), "domain_exponent": DOMAIN_EXPONENT,
                              "in_domain_topic_share": IN_DOMAIN_TOPIC_SHARE, "topic_noise": TOPIC_NOISE,
                              "plural_clause_share": PLURAL_CLAUSE_SHARE,
                              "mono_sentences_per_line": list(MONO_SENTENCES)},
                languages={code: LANGUAGE_SPECS[code].describe() for code in langs},
                segmentation={path: segmentation_path(path) for path in sorted(files)
                              if segmentation_path(path) in files},
                files={path: len(lines) for path, lines in sorted(files.items())})
    _write_atomically(out_dir, files, meta)
    return _read_meta(out_dir)


def _read_meta(out_dir):
    """The meta.json of a benchmark directory, or None."""
    try:
        with open(os.path.join(out_dir, "meta.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and "generator_version" in meta else None


def _write_atomically(out_dir, files, meta):
    """Write into a temporary sibling directory, then swap it into place."""
    out_dir = os.path.abspath(out_dir)
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.tmp-", dir=os.path.dirname(out_dir))
    try:
        os.chmod(tmp_dir, 0o755)
        for path, lines in files.items():
            full_path = os.path.join(tmp_dir, path)
            os.makedirs(os.path.dirname(full_path), exist_ok=True)
            with open(full_path, "w", encoding="utf-8", newline="\n") as f:
                f.writelines(line + "\n" for line in lines)
        with open(os.path.join(tmp_dir, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1, ensure_ascii=False)
            f.write("\n")
        if os.path.lexists(out_dir):
            old_dir = tmp_dir + ".old"
            os.replace(out_dir, old_dir)
            os.replace(tmp_dir, out_dir)
            shutil.rmtree(old_dir)
        else:
            os.replace(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
