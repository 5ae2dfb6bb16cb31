"""VecMap re-implementation (Artetxe et al. 2018): Procrustes, CSLS, normalization, and
self-learning on synthetic embeddings with a known translation."""
import math

import pytest
import torch

from fairseq_xlgen.lexicon.embedding_mapping import (
    MappingConfig,
    SelfLearningState,
    csls_topk,
    identical_seed_pairs,
    induce_dictionary,
    map_embeddings,
    normalize_embeddings,
    numeral_seed_pairs,
    procrustes,
    seed_pairs_from_word_pairs,
)
from fairseq_xlgen.testbed.embedding_pairs import synthetic_embedding_pair

@pytest.fixture(autouse=True)
def single_thread():
    """Small matrices: one thread is as fast, and robust when other jobs share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# Small, fast settings: same algorithm, shorter stochastic schedule, batching exercised
# (batch_size < vocab_cutoff) and a frequency cutoff below the vocabulary size.
FAST = dict(init_vocab=1000, vocab_cutoff=1000, stochastic_interval=5, batch_size=500)


def precision_at_1(result, gold):
    _, nearest = csls_topk(result.src_mapped, result.tgt_mapped, k=1)
    return (nearest[:, 0] == gold).double().mean().item()


def test_procrustes_recovers_hand_made_rotation():
    # A 90° rotation of the plane: (1, 0) -> (0, 1), (0, 1) -> (-1, 0).
    rotation = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]], dtype=torch.float64)
    z = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [-1.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    assert torch.equal(x @ rotation, z)
    assert torch.allclose(procrustes(x, z), rotation, atol=1e-5)


def test_procrustes_recovers_random_rotation_and_is_orthogonal():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(50, 8, generator=generator, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(8, 8, generator=generator, dtype=torch.float64))
    w = procrustes(x, x @ rotation)
    assert torch.allclose(w, rotation, atol=1e-5)
    noisy_w = procrustes(x, x @ rotation + 0.3 * torch.randn(50, 8, generator=generator, dtype=torch.float64))
    assert torch.allclose(noisy_w.T @ noisy_w, torch.eye(8, dtype=torch.float64), atol=1e-5)


def unit_vectors(degrees):
    return torch.tensor([[math.cos(math.radians(a)), math.sin(math.radians(a))] for a in degrees],
                        dtype=torch.float64)


def test_csls_penalises_a_hub_and_changes_the_nearest_neighbour():
    # Source words at 0°, 50°, 180°; target words h=10°, q=95°, p=200°. Cosines = cos(angle difference):
    #            h        q        p
    #   a  0°  .9848   -.0872   -.9397
    #   b 50°  .7660    .7071   -.8660
    #   c 180° -.9848   .0872    .9397
    # Plain cosine: b's nearest is h (.7660 > .7071).
    # CSLS with knn=1: r_src = row maxima (a .9848, b .7660, c .9397),
    #                  r_tgt = column maxima (h .9848, q .7071, p .9397); h is a hub (very close to a).
    #   CSLS(b, h) = 2(.7660) - .7660 - .9848 = -.2188
    #   CSLS(b, q) = 2(.7071) - .7660 - .7071 = -.0589   <- now the best
    #   CSLS(b, p) = 2(-.8660) - .7660 - .9397 = -3.4377
    src, tgt = unit_vectors([0, 50, 180]), unit_vectors([10, 95, 200])
    h, q, p = 0, 1, 2

    _, cosine_nearest = csls_topk(src, tgt, k=1, knn=0)
    assert cosine_nearest[:, 0].tolist() == [h, h, p]

    scores, csls_ranked = csls_topk(src, tgt, k=3, knn=1)
    assert csls_ranked[:, 0].tolist() == [h, q, p]
    assert csls_ranked[1].tolist() == [q, h, p]
    cos = math.cos
    r_b, r_h, r_q, r_p = cos(math.radians(40)), cos(math.radians(10)), cos(math.radians(45)), cos(math.radians(20))
    expected_b = [2 * cos(math.radians(45)) - r_b - r_q,
                  2 * cos(math.radians(40)) - r_b - r_h,
                  2 * cos(math.radians(150)) - r_b - r_p]
    assert scores[1].tolist() == pytest.approx(expected_b, abs=1e-9)
    assert scores[1].tolist() == pytest.approx([-0.0589, -0.2188, -3.4377], abs=1e-4)


def test_csls_topk_batches_give_the_same_result():
    generator = torch.Generator().manual_seed(1)
    src, tgt = torch.randn(37, 5, generator=generator), torch.randn(23, 5, generator=generator)
    full_scores, full_indices = csls_topk(src, tgt, k=4, batch_size=1000)
    batch_scores, batch_indices = csls_topk(src, tgt, k=4, batch_size=8)
    assert torch.equal(full_indices, batch_indices)
    assert torch.allclose(full_scores, batch_scores, atol=1e-6)
    assert bool((full_scores[:, :-1] >= full_scores[:, 1:]).all())


def test_normalization_unit_center_unit():
    generator = torch.Generator().manual_seed(2)
    emb = torch.randn(200, 16, generator=generator, dtype=torch.float64) * 3 + 5  # far from centred
    centred = normalize_embeddings(emb, ("unit", "center"))
    assert centred.mean(dim=0).abs().max() < 1e-12
    assert emb.mean(dim=0).abs().min() > 1  # the test data really was off-centre
    normalized = normalize_embeddings(emb)
    assert torch.allclose(normalized.norm(dim=1), torch.ones(200, dtype=torch.float64))
    assert normalized.mean(dim=0).abs().max() < 0.1
    with pytest.raises(ValueError, match="unknown normalization step"):
        normalize_embeddings(emb, ("whiten",))


def test_unsupervised_mapping_recovers_the_translation():
    # 1200 words, d=64, cluster + low-rank structure; target = jittered-frequency permutation
    # of a random rotation plus frequency-dependent noise. Measured: P@1 = 0.999 after
    # 39 iterations (random initial dictionary instead: P@1 = 0.001).
    src, tgt, gold = synthetic_embedding_pair(1200, 64, seed=0)
    result = map_embeddings(src, tgt, MappingConfig(**FAST), progress=False)
    assert precision_at_1(result, gold) > 0.9
    assert result.src_mapped.shape == (1200, 64) and result.tgt_mapped.shape == (1200, 64)
    assert result.keep_prob_history[0] == 0.1 and result.keep_prob_history[-1] == 1.0
    assert result.keep_prob_history == sorted(result.keep_prob_history)
    # VecMap's end: more than `interval` iterations at p = 1 without improvement
    assert result.keep_prob_history[-(FAST["stochastic_interval"] + 1):] == [1.0] * (FAST["stochastic_interval"] + 1)
    assert result.objective_history[-1] > result.objective_history[0]
    assert len(result.objective_history) == result.iterations
    # final dictionary: mostly gold pairs, within the frequency cutoff
    dictionary = result.dictionary
    assert int(dictionary.max()) < FAST["vocab_cutoff"]
    assert (gold[dictionary[:, 0]] == dictionary[:, 1]).double().mean() > 0.75  # measured 0.85


def test_kept_similarity_matrices_give_the_batched_result():
    """batch_size >= vocabulary keeps each similarity matrix for the second pass of an
    iteration (2 matmuls instead of 4); the dictionaries must be those of the batched path."""
    src, tgt, _ = synthetic_embedding_pair(600, 32, seed=3)
    runs = [map_embeddings(src, tgt, MappingConfig(**dict(FAST, batch_size=batch, max_iterations=8)), progress=False)
            for batch in (7000, 250)]
    assert runs[0].objective_history == pytest.approx(runs[1].objective_history, abs=1e-6)
    assert torch.equal(runs[0].dictionary, runs[1].dictionary)


def test_identical_strings_seed_start():
    # Only 5% of the translations share their spelling (names, numbers...): enough as a seed.
    src, tgt, gold = synthetic_embedding_pair(1200, 64, seed=3)
    src_words = [f"s{i}" for i in range(1200)]
    tgt_words = [f"t{j}" for j in range(1200)]
    shared = torch.randperm(1200, generator=torch.Generator().manual_seed(4))[:60].tolist()
    for i in shared:
        src_words[i] = tgt_words[int(gold[i])] = f"name{i}"
    assert sorted(identical_seed_pairs(src_words, tgt_words)) == sorted((i, int(gold[i])) for i in shared)
    config = MappingConfig(init="identical", **FAST)
    result = map_embeddings(src, tgt, config, src_words=src_words, tgt_words=tgt_words, progress=False)
    assert precision_at_1(result, gold) > 0.9


def test_seed_dictionary_start_and_argument_checks():
    src, tgt, gold = synthetic_embedding_pair(600, 32, seed=5)
    seed = [(i, int(gold[i])) for i in range(0, 600, 10)]
    config = MappingConfig(init="seed_dictionary", **FAST)
    result = map_embeddings(src, tgt, config, seed_pairs=seed, progress=False)
    assert precision_at_1(result, gold) > 0.9
    with pytest.raises(ValueError, match="seed_pairs exactly when"):
        map_embeddings(src, tgt, MappingConfig(**FAST), seed_pairs=seed, progress=False)
    with pytest.raises(ValueError, match="needs src_words"):
        map_embeddings(src, tgt, MappingConfig(init="numerals", **FAST), progress=False)
    with pytest.raises(ValueError, match="dimension mismatch"):
        map_embeddings(src, tgt[:, :16], MappingConfig(**FAST), progress=False)


def test_seed_pair_helpers():
    src_words = ["1999", "▁2", "3.5", "abc", "12a", "7"]
    tgt_words = ["7", "abc", "▁2", "1999", "3.5", "12a", "8"]
    assert numeral_seed_pairs(src_words, tgt_words) == [(0, 3), (1, 2), (2, 4), (5, 0)]
    pairs, skipped = seed_pairs_from_word_pairs([("abc", "8"), ("zzz", "7"), ("7", "qqq")], src_words, tgt_words)
    assert pairs == [(3, 6)] and skipped == 2


def test_resuming_from_a_checkpoint_matches_an_uninterrupted_run(tmp_path):
    src, tgt, _ = synthetic_embedding_pair(400, 32, seed=6)
    uninterrupted = map_embeddings(src, tgt, MappingConfig(max_iterations=8, **FAST), progress=False)
    checkpoint = str(tmp_path / "state.pt")
    first = map_embeddings(src, tgt, MappingConfig(max_iterations=4, **FAST), progress=False,
                           checkpoint_path=checkpoint, checkpoint_every=2)
    assert first.iterations == 4
    resumed = map_embeddings(src, tgt, MappingConfig(max_iterations=8, **FAST), progress=False,
                             checkpoint_path=checkpoint)
    assert resumed.iterations == 8
    assert resumed.objective_history == uninterrupted.objective_history
    assert torch.equal(resumed.dictionary, uninterrupted.dictionary)
    assert torch.allclose(resumed.src_mapped, uninterrupted.src_mapped)
    with pytest.raises(ValueError, match="checkpoint was made for other"):
        map_embeddings(src, tgt, MappingConfig(max_iterations=8, csls_knn=5, **FAST), progress=False,
                       checkpoint_path=checkpoint)


# --- VecMap's dictionary induction and schedule (issue 11, item 4), on hand-made numbers ----

def test_objective_is_the_mean_best_cosine_whatever_the_keep_probability_or_csls():
    # Source words at 0° and 90°, target words at 30°, 80°, 200° (2-d unit vectors).
    # Best cosines: x0 cos30, x1 cos10; z0 cos30, z1 cos10, z2 cos110 (its best is x1 at 90°).
    x, z = unit_vectors([0, 90]), unit_vectors([30, 80, 200])
    c = lambda degrees: math.cos(math.radians(degrees))
    expected = ((c(30) + c(10)) / 2 + (c(30) + c(10) + c(110)) / 3) / 2
    assert expected == pytest.approx(0.71417, abs=1e-5)
    for knn, keep_prob in ((0, 1.0), (1, 1.0), (0, 0.3), (1, 0.1)):
        generator = torch.Generator().manual_seed(0)
        _, objective = induce_dictionary(x, z, knn, keep_prob, generator, batch_size=10)
        assert objective == pytest.approx(expected, abs=1e-12)


def test_pairs_found_in_both_directions_count_twice():
    # Same words: x0 ↔ z0 and x1 ↔ z1 are mutual nearest pairs; z2 (200°) goes to x1 (90°, cos110
    # > cos200), while no source word picks it. VecMap concatenates the two directions.
    x, z = unit_vectors([0, 90]), unit_vectors([30, 80, 200])
    pairs, _ = induce_dictionary(x, z, 0, 1.0, None, batch_size=10)
    assert pairs.tolist() == [[0, 0], [1, 1], [0, 0], [1, 1], [1, 2]]


def vectors_with_cosines(cosines):
    """Query (1, 0, 0) and keys whose cosines with it are ``cosines``."""
    keys = torch.tensor([[c, math.sqrt(1 - c * c), 0.0] for c in cosines], dtype=torch.float64)
    return torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64), keys


def test_a_dropped_similarity_counts_as_zero():
    # VecMap multiplies the scores by a 0/1 mask: a dropped score is 0, not -inf.
    # Keys with cosines .3 and -.2: column 0 wins under every mask (kept: .3 is the best; dropped:
    # its 0 beats -.2). With dropped = -inf, the mask "column 1 only" (p(1-p) = 1/4) would pick 1.
    query, keys = vectors_with_cosines([0.3, -0.2])
    queries = query.repeat(400, 1)
    pairs, _ = induce_dictionary(queries, keys, 0, 0.5, torch.Generator().manual_seed(1), batch_size=1000)
    assert pairs[:400, 1].tolist() == [0] * 400
    # Cosines -.3, -.2, .4 at p = 1/2: column 2 when kept (1/2); otherwise the first dropped
    # column: 0 (1/4), else 1 (1/8), else 2 itself (1/8). So P = (1/4, 1/8, 5/8); with -inf it
    # would be (1/8, 1/4, 1/2) and no pair at all for 1/8 of the queries.
    query, keys = vectors_with_cosines([-0.3, -0.2, 0.4])
    n = 8000
    for batch_size in (n, 3000):  # one block, and blocks with their own top-k widths
        pairs, _ = induce_dictionary(query.repeat(n, 1), keys, 0, 0.5, torch.Generator().manual_seed(2), batch_size)
        shares = torch.bincount(pairs[:n, 1], minlength=3).double() / n
        assert shares.tolist() == pytest.approx([1 / 4, 1 / 8, 5 / 8], abs=0.02)


def run_schedule(objectives, **settings):
    config = MappingConfig(**settings)
    state = SelfLearningState(pairs=torch.zeros(0, 2, dtype=torch.long), keep_prob=config.keep_prob_start)
    for objective in objectives:
        if not state.before_iteration(config):
            break
        state.record(objective, config)
    return state


def test_stall_waits_more_than_interval_iterations_also_at_keep_prob_one():
    # Constant objective, interval 2: iteration 1 improves (from -inf); iterations 2, 3 do not;
    # before iteration 4, 4 - 1 > 2: p doubles and the count restarts at 4; before 7, p = 1;
    # before 10, 10 - 7 > 2 at p = 1: the end. Nine iterations, three at each p.
    state = run_schedule([1.0] * 20, keep_prob_start=0.25, keep_prob_multiplier=2.0, stochastic_interval=2)
    assert state.keep_prob_history == [0.25] * 3 + [0.5] * 3 + [1.0] * 3
    assert state.iteration == 9 and state.converged


def test_a_gain_of_exactly_the_threshold_is_an_improvement():
    # threshold 0.5, interval 1, p = 1: iteration 2 gains exactly 0.5 (improves), 3 does not,
    # and before iteration 4 (4 - 2 > 1) self-learning ends: 3 iterations (2 if ">" were used).
    state = run_schedule([1.0, 1.5, 1.5, 1.5, 1.5], keep_prob_start=1.0, stochastic_interval=1, threshold=0.5)
    assert state.iteration == 3 and state.last_improvement == 2 and state.best_objective == 1.5


# --- the fast top-k of the similarity passes (issue 11, item 4: speed without changing results) ---

def test_row_topk_gives_torch_topk_values_and_indices_ties_included():
    from fairseq_xlgen.lexicon.embedding_mapping import _row_topk
    generator = torch.Generator().manual_seed(7)
    for n_rows, n, k, levels in [(64, 4849, 1, 0), (64, 4849, 10, 0), (64, 4849, 34, 0), (64, 1000, 10, 40),
                                 (64, 1000, 3, 15), (64, 4849, 34, 400), (64, 4849, 1, 30), (30, 333, 5, 0),
                                 (30, 2000, 100, 0), (8, 50, 10, 0)]:
        sims = torch.randn(n_rows, n, generator=generator)
        if levels:  # coarse values: many ties, also among the best of a row
            sims = (sims * levels).round() / levels
        sims[0, 5] = sims[0, 7] = sims[0].max() + 1  # a tie for the best
        sims[1, :] = 0.25  # a row of equal values
        sims[2, 3] = float("nan")
        sims[3, : n // 2] = float("-inf")
        expected = sims.topk(k, dim=1)
        values, indices = _row_topk(sims, k)
        assert torch.equal(indices, expected.indices), (n, k, levels)
        assert torch.equal(values, expected.values) or torch.allclose(values, expected.values, equal_nan=True)


def test_fast_topk_leaves_the_dictionaries_unchanged(monkeypatch):
    """A fixed seed gives the same dictionaries and objectives with the fast top-k as with
    torch's own, at low keep probability (wide stochastic top-k) and at p = 1 (arg-max), with
    kept and with batched similarity matrices."""
    import fairseq_xlgen.lexicon.embedding_mapping as embedding_mapping
    src, tgt, _ = synthetic_embedding_pair(900, 32, seed=8)
    calls = []
    fast = embedding_mapping._largest_columns
    monkeypatch.setattr(embedding_mapping, "_largest_columns", lambda *args: calls.append(1) or fast(*args))
    for keep_prob in (0.1, 1.0):
        for batch in (7000, 400):
            config = MappingConfig(**dict(FAST, batch_size=batch, max_iterations=10, keep_prob_start=keep_prob))
            runs = [map_embeddings(src, tgt, config, progress=False)]
            with monkeypatch.context() as patched:
                patched.setattr(embedding_mapping, "_row_topk", lambda sims, k: sims.topk(min(k, sims.shape[1]), dim=1))
                runs.append(map_embeddings(src, tgt, config, progress=False))
            assert torch.equal(runs[0].dictionary, runs[1].dictionary)
            assert runs[0].objective_history == runs[1].objective_history
    assert calls  # the grouped search did run
