"""Lexical baselines of the understanding tasks (issue 21; paper 002 §5, paper 004 Table V), scored with
:mod:`fairseq_xlgen.analysis.scoring`'s accuracy and span F1 / exact match:

* baselines that show what a task leaves to surface cues: the training labels' majority, a logistic
  regression on language-independent word-overlap features of a pair (trained on the source language
  and applied zero-shot to every other, so it is what a model could learn without understanding), the
  same regression with bags of words added (trained in each language: what lexical cues give), and for
  span extraction the sliding-window sentence baseline (the document's sentence that shares most words
  with the question, less the question's words).
"""
import collections
from typing import List, Sequence

import numpy as np

from fairseq_xlgen.analysis.scoring import accuracy


def majority_label(labels: Sequence[str]) -> str:
    """The most frequent label (the first seen among equals)."""
    counts = collections.Counter(labels)
    return max(counts, key=lambda label: (counts[label], -labels.index(label)))


def overlap_features(first: List[str], second: List[str]) -> List[float]:
    """Language-independent features of a pair of word lists: the share of each side's words found in
    the other, the number of words only on each side, and the length difference."""
    a, b = set(first), set(second)
    return [len(a & b) / max(len(a), 1), len(a & b) / max(len(b), 1), len(a - b), len(b - a),
            len(second) - len(first)]


def _pair_matrix(pairs, vocabulary=None):
    """Overlap features, and when ``vocabulary`` ({feature: column}) is given, binary bags of words of
    each side beside them."""
    dense = np.array([overlap_features(first, second) for first, second in pairs], dtype=np.float64)
    if vocabulary is None:
        return dense
    bags = np.zeros((len(pairs), len(vocabulary)))
    for row, (first, second) in enumerate(pairs):
        for feature in [f"1:{w}" for w in first] + [f"2:{w}" for w in second]:
            column = vocabulary.get(feature)
            if column is not None:
                bags[row, column] = 1.0
    return np.hstack([dense, bags])


def pair_classifier_accuracy(train_pairs, train_labels, test_pairs, test_labels, bag_of_words=False) -> float:
    """Accuracy of a logistic regression on overlap features (and bags of words) of word-list pairs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    vocabulary = None
    if bag_of_words:
        features = sorted({f"{side}:{w}" for pair in train_pairs for side, words in zip("12", pair) for w in words})
        vocabulary = {feature: column for column, feature in enumerate(features)}
    train, test = _pair_matrix(train_pairs, vocabulary), _pair_matrix(test_pairs, vocabulary)
    scaler = StandardScaler().fit(train)
    model = LogisticRegression(max_iter=2000).fit(scaler.transform(train), train_labels)
    return accuracy(list(model.predict(scaler.transform(test))), list(test_labels))


def tag_lookup_accuracy(train_words, train_tags, test_words, test_tags) -> float:
    """Per-word accuracy of tagging each word with its most frequent training tag (unseen words: the
    most frequent tag overall)."""
    by_word, overall = collections.defaultdict(collections.Counter), collections.Counter()
    for words, tags in zip(train_words, train_tags):
        for word, tag in zip(words, tags):
            by_word[word][tag] += 1
            overall[tag] += 1
    fallback = overall.most_common(1)[0][0]
    predicted = [by_word[w].most_common(1)[0][0] if w in by_word else fallback for words in test_words for w in words]
    return accuracy(predicted, [tag for tags in test_tags for tag in tags])


def sentence_window_answer(context_sentences: List[List[str]], question: List[str]) -> List[str]:
    """The sliding-window baseline: the words of the sentence sharing most words with the question
    (the first among equals), less the question's words."""
    asked = set(question)
    best = max(context_sentences, key=lambda sentence: len(asked & set(sentence)))
    return [word for word in best if word not in asked]
