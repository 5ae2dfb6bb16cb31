"""The synthetic benchmark's understanding tasks (issue 21; paper 002 §5, paper 004 Table V).

Their labels follow from meanings, so they are the same in every language for parallel examples:

* **word tagging** (like UDPOS): each word's part of speech (:func:`word_tags`);
* **NLI** (like XNLI): entailment, neutral or contradiction of a one-clause hypothesis given a
  two-clause premise, decided by :func:`nli_label` under a closed world (below);
* **paraphrase identification** (like PAWS-X): a two-clause sentence against the same clauses in the
  other order (paraphrase) or with the clauses' objects exchanged (not a paraphrase): the same words
  in both cases and in every language, as in PAWS's word-scrambled pairs;
* **span extraction** (like TyDiQA-GoldP): a document, a who/what question about one clause's object,
  and the object's noun phrase as it is written in the document.

NLI's closed world: a premise lists every event among the participants it mentions. A hypothesis about
a participant it does not mention is *neutral* (unknown); one about mentioned participants whose event
(subject, verb, object, tense) the premise does not list is a *contradiction*; a listed event is an
*entailment* when the hypothesis adds nothing to it, and *neutral* when it describes a participant
further (an adjective the premise does not give it). Numerals and time expressions that conflict with
the listed event's contradict it.

This module draws each example as meanings and a label, and renders its fields with a language's Lexicon
(:data:`TASKS`); :mod:`fairseq_xlgen.testbed.synthetic_benchmark` splits and writes them.
"""
import functools
from typing import Callable, NamedTuple

from fairseq_xlgen.testbed.meanings import Clause, Meaning

NLI_LABELS = ("entailment", "neutral", "contradiction")
PARAPHRASE_LABELS = ("1", "0")  # PAWS-X's: paraphrase, not a paraphrase
TAG_OF_CATEGORY = {"noun": "NOUN", "adjective": "ADJ", "verb": "VERB", "time": "ADV", "name": "PROPN"}
TAG_OF_FUNCTION_WORD = {"and": "CCONJ", "who": "PRON", "what": "PRON"}
MAX_DRAWS = 1000  # redraws of one example before the meaning model is called unable to make it


# ------------------------------------------------------------------------------ tagging
def word_tags(lexicon):
    """``{word form: UD part-of-speech tag}`` of one language: every form is one concept's (Lexicon
    coins disjoint forms), numerals are NUM, the particles of zh_CN PART and sentence ends PUNCT."""
    tags = {form: TAG_OF_CATEGORY[category]
            for category, concepts in lexicon.forms.items() if category != "function"
            for forms in concepts for form in forms.values()}
    tags.update((lexicon.function_word(word), tag) for word, tag in TAG_OF_FUNCTION_WORD.items())
    tags.update((particle, "PART") for particle in lexicon.particles.values())
    tags.update({lexicon.spec.period: "PUNCT", lexicon.spec.question_mark: "PUNCT"})
    return tags


def tag_words(tags, words):
    """The tags of a sentence's words (``tags`` from :func:`word_tags`)."""
    return ["NUM" if word.isdigit() else tags[word] for word in words]


# ---------------------------------------------------------------------------------- NLI
def participant(phrase):
    """Who a noun phrase is about, without its description: the head, name or not, and its number."""
    return phrase.head, phrase.is_name, phrase.plural


def _event(clause):
    return participant(clause.subject), clause.verb, participant(clause.obj), clause.tense


def _conflicts(listed, hypothesis):
    """A numeral or time expression of the hypothesis that differs from the listed event's."""
    numerals = [(h.numeral, c.numeral) for h, c in ((hypothesis.subject, listed.subject), (hypothesis.obj, listed.obj))]
    return (any(h is not None and c is not None and h != c for h, c in numerals)
            or (hypothesis.time is not None and listed.time is not None and hypothesis.time != listed.time))


def _adds_nothing(listed, hypothesis):
    """Every modifier of the hypothesis is the listed event's own."""
    phrases = ((hypothesis.subject, listed.subject), (hypothesis.obj, listed.obj))
    return (all(h.adjective in (None, c.adjective) and h.numeral in (None, c.numeral) for h, c in phrases)
            and hypothesis.time in (None, listed.time))


def nli_label(premise: Meaning, hypothesis: Clause) -> str:
    """entailment, neutral or contradiction of ``hypothesis`` given ``premise`` (the module's closed world)."""
    mentioned = {participant(phrase) for clause in premise.clauses for phrase in (clause.subject, clause.obj)}
    if participant(hypothesis.subject) not in mentioned or participant(hypothesis.obj) not in mentioned:
        return "neutral"
    listed = [clause for clause in premise.clauses if _event(clause) == _event(hypothesis)]
    if not listed or all(_conflicts(clause, hypothesis) for clause in listed):
        return "contradiction"
    return "entailment" if any(_adds_nothing(clause, hypothesis) for clause in listed) else "neutral"


def _drop_modifiers(rng, clause):
    """The clause with each modifier (adjectives, numerals, time expression) dropped at chance 1/2."""
    def phrase(p):
        return p._replace(adjective=None if rng.random() < 0.5 else p.adjective,
                          numeral=None if rng.random() < 0.5 else p.numeral)
    return clause._replace(subject=phrase(clause.subject), obj=phrase(clause.obj),
                           time=None if rng.random() < 0.5 else clause.time)


def can_be_subject(space, phrase):
    return phrase.is_name or space.animate[phrase.head]


def _swapped_roles(clause):
    return clause._replace(subject=clause.obj, obj=clause.subject)


def two_clause_meaning(rng, sampler):
    """A sentence of two clauses (one of ``sampler``'s meanings that has two)."""
    for _ in range(MAX_DRAWS):
        meaning = sampler.meaning(rng)
        if len(meaning.clauses) == 2:
            return meaning
    raise RuntimeError(f"no two-clause sentence in {MAX_DRAWS} draws")


def _with_objects_exchanged(clauses):
    """The clauses with their objects exchanged, or None when the objects are the same."""
    first, second = clauses
    if first.obj == second.obj:
        return None
    return first._replace(obj=second.obj), second._replace(obj=first.obj)


def _contradiction(rng, sampler, premise, which):
    """The event of clause ``which`` with the other clause's object (same words as the premise in every
    language), its roles exchanged, or another verb."""
    clause, draw = premise.clauses[which], rng.random()
    exchanged = _with_objects_exchanged(premise.clauses)
    if draw < 0.5 and exchanged is not None:
        return exchanged[which]
    if draw < 0.75 and can_be_subject(sampler.space, clause.obj):
        return _swapped_roles(clause)
    return clause._replace(verb=sampler.draw(rng, "verb", sampler.topic(rng)))


def _neutral(rng, sampler, premise, which):
    """Clause ``which`` about a participant the premise does not mention, or with an adjective the premise
    does not give the participant (another noun phrase's where there is one, else a new one)."""
    clause, topic = premise.clauses[which], sampler.topic(rng)
    if rng.random() < 0.5:
        role = "subject" if rng.random() < 0.5 else "obj"
        newcomer = sampler.noun_phrase(rng, topic, role == "subject", clause.subject.plural)
        return clause._replace(**{role: newcomer})
    described = [role for role in ("subject", "obj") if not getattr(clause, role).is_name]
    if not described:
        return None
    role = described[int(rng.random() * len(described))]
    others = [phrase.adjective for c in premise.clauses for phrase in (c.subject, c.obj)
              if phrase.adjective is not None and phrase.adjective != getattr(clause, role).adjective]
    adjective = others[int(rng.random() * len(others))] if others else sampler.draw(rng, "adjective", topic)
    return clause._replace(**{role: getattr(clause, role)._replace(adjective=adjective)})


HYPOTHESES = {"entailment": lambda rng, sampler, premise, which: premise.clauses[which],
              "contradiction": _contradiction, "neutral": _neutral}


def nli_example(rng, sampler, label):
    """(premise, hypothesis) whose nli_label is ``label``: a two-clause premise and a one-clause hypothesis
    about one of its clauses, with each modifier dropped at chance 1/2 (so that a shorter hypothesis
    does not give the label away)."""
    for _ in range(MAX_DRAWS):
        premise = two_clause_meaning(rng, sampler)
        hypothesis = HYPOTHESES[label](rng, sampler, premise, int(rng.random() * 2))
        if hypothesis is not None:
            hypothesis = _drop_modifiers(rng, hypothesis)
            if nli_label(premise, hypothesis) == label:
                return premise, hypothesis
    raise RuntimeError(f"no NLI example labelled {label} in {MAX_DRAWS} draws")


# -------------------------------------------------------------------- paraphrase (PAWS)
def paraphrase_example(rng, sampler, label):
    """(sentence, other sentence) of two clauses: the clauses in the other order (label 1), or their
    objects exchanged, in either order (label 0). Both use the first sentence's words in every language,
    as PAWS's word-scrambled pairs do."""
    for _ in range(MAX_DRAWS):
        meaning = two_clause_meaning(rng, sampler)
        if label == "1":
            return meaning, Meaning(meaning.clauses[::-1])
        exchanged = _with_objects_exchanged(meaning.clauses)
        if exchanged is not None:
            return meaning, Meaning(exchanged[::-1] if rng.random() < 0.5 else exchanged)
    raise RuntimeError(f"no paraphrase pair labelled {label} in {MAX_DRAWS} draws")


# ------------------------------------------------------------------ span extraction (QA)
class SpanQuestion(NamedTuple):
    """A document and the clause whose object is asked for."""

    document: tuple  # meanings
    clause: Clause

    def question(self):
        """The asked clause as a one-clause meaning (Lexicon.question asks for its object)."""
        return Meaning((self.clause,))


def _is_unambiguous(document, clause):
    """No other clause of the document has the asked clause's subject, verb and tense, and no other noun
    phrase has the answer's head (so its words occur once in the document, in every language)."""
    clauses = [c for meaning in document for c in meaning.clauses]
    key = (participant(clause.subject), clause.verb, clause.tense)
    heads = [(phrase.head, phrase.is_name) for c in clauses for phrase in (c.subject, c.obj)]
    return (sum((participant(c.subject), c.verb, c.tense) == key for c in clauses) == 1
            and heads.count((clause.obj.head, clause.obj.is_name)) == 1)


def span_question(rng, sampler, lengths=(2, 4)) -> SpanQuestion:
    """A document and an unambiguous question about the object of one of its clauses."""
    for _ in range(MAX_DRAWS):
        document = sampler.document(rng, lengths)
        clauses = [clause for meaning in document for clause in meaning.clauses]
        clause = clauses[int(rng.random() * len(clauses))]
        if _is_unambiguous(document, clause):
            return SpanQuestion(document, clause)
    raise RuntimeError(f"no unambiguous question in {MAX_DRAWS} documents")


def answer_span(context_words, answer_words, joiner):
    """(start, end) character offsets of the answer's words in the context text (its words joined by
    ``joiner``), or None unless they occur there exactly once."""
    n = len(answer_words)
    found = [i for i in range(len(context_words) - n + 1) if context_words[i:i + n] == answer_words]
    if len(found) != 1:
        return None
    start = sum(len(word) + len(joiner) for word in context_words[:found[0]])
    return start, start + len(joiner.join(answer_words))


# ------------------------------------------------------------------------------ the tasks
class UnderstandingTask(NamedTuple):
    """How the benchmark makes one task: ``draw(rng, sampler)`` gives a hashable, language-independent
    example; ``render(lexicon, example)`` gives its fields in one language, each a token list (text: the
    file gets the language's writing, and unspaced languages a gold segmentation beside it) or a string
    (written as it is: labels, tags, offsets)."""

    draw: Callable
    render: Callable
    fields: tuple


def _labelled(make, labels):
    def draw(rng, sampler):
        label = labels[int(rng.random() * len(labels))]
        return (label,) + tuple(make(rng, sampler, label))
    return draw


def _render_tagging(lexicon, meaning):
    words = lexicon.sentence(meaning)
    return {"words": " ".join(words), "tags": " ".join(tag_words(_word_tags(lexicon), words))}


@functools.lru_cache(maxsize=8)  # a benchmark renders with one Lexicon per language
def _word_tags(lexicon):
    return word_tags(lexicon)


def _render_nli(lexicon, example):
    label, premise, hypothesis = example
    return {"premise": lexicon.sentence(premise), "hypothesis": lexicon.sentence(Meaning((hypothesis,))),
            "label": label}


def _render_paraphrase(lexicon, example):
    label, first, second = example
    return {"sentence1": lexicon.sentence(first), "sentence2": lexicon.sentence(second), "label": label}


def _render_span(lexicon, example):
    context = lexicon.document(example.document)
    answer = lexicon.noun_phrase(example.clause.obj, "acc")
    span = answer_span(context, answer, lexicon.spec.joiner)
    if span is None:
        raise RuntimeError(f"{lexicon.spec.code}: the answer {answer} is not once in its document {context}")
    return {"context": context, "question": lexicon.question(example.question()), "answer": answer,
            "span": f"{span[0]} {span[1]}"}


TASKS = {
    "pos": UnderstandingTask(lambda rng, sampler: sampler.meaning(rng), _render_tagging, ("words", "tags")),
    "nli": UnderstandingTask(_labelled(nli_example, NLI_LABELS), _render_nli, ("premise", "hypothesis", "label")),
    "paws": UnderstandingTask(_labelled(paraphrase_example, PARAPHRASE_LABELS), _render_paraphrase,
                              ("sentence1", "sentence2", "label")),
    "qa": UnderstandingTask(span_question, _render_span, ("context", "question", "answer", "span")),
}
