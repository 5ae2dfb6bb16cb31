"""Meanings of the synthetic benchmark: concepts, topics and the sampler of sentences and documents.

A meaning is a small structured record (clauses of subject, verb, object and time expression) that
every language renders alike (:mod:`fairseq_xlgen.testbed.languages`). Concepts have Zipfian
frequencies, and a latent topic per sentence (per document) decides which of them co-occur, so every
language inherits the same co-occurrence statistics. Every random choice comes from a named stream
derived from the seed (:func:`stream_rng`).
"""
import hashlib
import itertools
import math
import random
from bisect import bisect
from dataclasses import dataclass
from typing import NamedTuple, Optional

CATEGORY_SHARES = {"noun": 0.40, "adjective": 0.20, "verb": 0.20, "time": 0.05, "name": 0.15}
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
NUMERALS = tuple(range(2, 100))  # written as digits in every language
TENSES = ("past", "present", "future")
NOUN_CLASSES = (0, 1, 2)
NAME_SYLLABLES = tuple(c + v for c in "kmtrsnldbpgv" for v in "aeiou")


def stream_rng(seed, *stream):
    """A random generator for one named stream; only its random() is used (stable across Pythons)."""
    digest = hashlib.sha256("/".join(map(str, (seed,) + stream)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def choose(rng, options):
    """One of `options`, drawn with a single rng.random()."""
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
            noun_class=tuple(choose(rng, NOUN_CLASSES) for _ in range(counts["noun"])),
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
        name = tuple(choose(rng, NAME_SYLLABLES) for _ in range(2 + (rng.random() < 0.4)))
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



def draw_unique(rng, draw, n, seen):
    """`n` items from `draw(rng)` that are not in `seen` (which is updated)."""
    items = []
    while len(items) < n:
        item = draw(rng)
        if item not in seen:
            seen.add(item)
            items.append(item)
    return items
