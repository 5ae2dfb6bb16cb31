"""The synthetic languages share co-occurrence structure: word2vec spaces trained on each
language's monolingual text are nearly isomorphic, so an orthogonal map learnt on half of
the gold lexicon translates the other half (what unsupervised lexicon induction relies on).

Fully unsupervised, the same spaces are mapped by our VecMap (the CSR lexicon pipeline's
mapping step) and the gold lexicon is recovered far above chance (1 / ~2000 target words).
Measured figures are in docs/synthetic_benchmark.md.
"""
import logging
import random

import numpy as np
import pytest

import torch
from gensim.models import Word2Vec

from fairseq_xlgen.testbed.synthetic_benchmark import generate_benchmark, load_gold_lexicon, segmentation_path
from fairseq_xlgen.lexicon.embedding_mapping import MappingConfig, map_embeddings
from fairseq_xlgen.lexicon.lexicon_induction import induce_lexicon, precision_at_k


def train_word2vec(path):
    """Skip-gram as xlgen-train-embeddings runs it (window 10, negative 10), small and single-threaded."""
    logging.getLogger("gensim").setLevel(logging.WARNING)
    with open(path, encoding="utf-8") as f:
        sentences = [line.split() for line in f]
    model = Word2Vec(sentences, sg=1, vector_size=100, window=10, negative=10, min_count=3,
                                   epochs=10, workers=1, seed=1)
    return model.wv


def normalized(vectors):
    """Unit length, mean centering, unit length (VecMap's normalization)."""
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors - vectors.mean(axis=0)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def held_out_precision(src, tgt, lexicon, seed=0):
    """Orthogonal Procrustes on a random half of the gold source words (all their in-vocabulary
    translations), precision@1 of cosine nearest neighbours over the whole target vocabulary for
    the other half; a source word is right if its neighbour is any of its gold translations."""
    src_vectors, tgt_vectors = normalized(src.vectors.astype(np.float64)), normalized(tgt.vectors.astype(np.float64))
    words = sorted(word for word, targets in lexicon.items()
                   if word in src.key_to_index and any(t in tgt.key_to_index for t in targets))
    random.Random(seed).shuffle(words)
    train, test = words[: len(words) // 2], words[len(words) // 2:]
    pairs = [(src.key_to_index[word], tgt.key_to_index[t]) for word in train for t in lexicon[word]
             if t in tgt.key_to_index]
    u, _, vt = np.linalg.svd(src_vectors[[s for s, _ in pairs]].T @ tgt_vectors[[t for _, t in pairs]])
    mapped = src_vectors[[src.key_to_index[word] for word in test]] @ (u @ vt)
    nearest = (mapped @ tgt_vectors.T).argmax(axis=1)
    return np.mean([tgt.index_to_key[j] in lexicon[word] for word, j in zip(test, nearest)]), len(test)


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("isomorphism") / "bench"
    generate_benchmark(out, seed=1, size="small", langs="en_XX,de_DE,ru_RU,zh_CN", progress=False)
    return out


@pytest.fixture(scope="module")
def embeddings(small_bench):
    cache = {}

    def get(code):
        if code not in cache:
            path = f"mono/{code}.txt"
            if code == "zh_CN":
                path = segmentation_path(path)
            cache[code] = train_word2vec(small_bench / path)
        return cache[code]
    return get


@pytest.mark.slow
@pytest.mark.parametrize("tgt, threshold", [("de_DE", 0.5), ("ru_RU", 0.5), ("zh_CN", 0.6)])
def test_supervised_procrustes_translates_held_out_words(small_bench, embeddings, tgt, threshold):
    lexicon = load_gold_lexicon(small_bench / f"lexicon/en_XX-{tgt}.gold.tsv")
    precision, n_test = held_out_precision(embeddings("en_XX"), embeddings(tgt), lexicon)
    assert n_test > 400  # nouns, adjectives, verbs in several forms, names, numerals, time expressions
    assert precision >= threshold, f"en_XX-{tgt}: held-out precision@1 {precision:.3f} < {threshold}"


@pytest.mark.slow
@pytest.mark.parametrize("tgt, threshold", [("de_DE", 0.4), ("zh_CN", 0.6)])
def test_unsupervised_mapping_recovers_the_gold_lexicon(small_bench, embeddings, tgt, threshold):
    """The CSR pipeline's mapping (§3.2 initialization, self-learning, re-weighting) with the
    paper's defaults, then top-1 CSLS: precision@1 against the gold lexicon (~0.6 and ~0.8
    measured at seed 1; chance is ~1/2000)."""
    src, tgt_wv = embeddings("en_XX"), embeddings(tgt)
    result = map_embeddings(torch.from_numpy(src.vectors), torch.from_numpy(tgt_wv.vectors), MappingConfig(),
                            progress=False)
    assert result.converged
    entries = induce_lexicon(src.index_to_key, result.src_mapped, tgt_wv.index_to_key, result.tgt_mapped, k=1)
    gold = [(s, t) for s, targets in load_gold_lexicon(small_bench / f"lexicon/en_XX-{tgt}.gold.tsv").items()
            for t in targets]
    precision, n_words = precision_at_k(entries, gold, k=1)
    assert n_words > 1000
    assert precision >= threshold, f"en_XX-{tgt}: unsupervised precision@1 {precision:.3f} < {threshold}"
