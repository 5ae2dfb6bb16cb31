"""bench/xlmr_cross_lingual.py: nearest neighbours after centring, worked by hand; every pair (de, ru, zh) runs."""
import importlib.util
import json
import os

import torch

from conftest import REPO

_spec = importlib.util.spec_from_file_location("xlmr_cross_lingual", os.path.join(REPO, "bench", "xlmr_cross_lingual.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_nearest_compares_directions_after_centring():
    # centred, queries (1, -1), (-1, 1) and keys (-1.5, 1.5), (1.5, -1.5): cosines -1 and 1, so query 0 -> key 1
    queries = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    keys = torch.tensor([[0.0, 3.0], [3.0, 0.0]])
    assert bench.nearest(queries, keys).tolist() == [1, 0]
    # without centring (10, 10) would be nearest to both; centred, the offset shared by all keys drops out
    assert bench.nearest(queries, keys + 10).tolist() == [1, 0]


def test_every_pair_and_layer_is_measured_on_the_tiny_fixture(benchmark_dir, pretrained_dir, tmp_path):
    out = tmp_path / "result.json"
    bench.main(["--benchmark", benchmark_dir, "--xlmr", f"random={pretrained_dir}/xlmr.base", "--max-words", "20",
                "--max-sentences", "5", "--json", str(out)])
    rows = json.loads(out.read_text())
    assert [(r["pair"], r["measure"]) for r in rows] == [(pair, m) for pair in bench.PAIRS
                                                         for m in ("word", "sentence", "in_context")]
    for row in rows:
        if row["measure"] == "in_context":
            assert set(row["masked_accuracy"]) == {"alone", "with translation", "with other translation"}
            assert row["sentences"] == 5
            continue
        assert len(row["precision_at_1"]) == 3  # embeddings + 2 layers
        assert all(0 <= p <= 1 for p in row["precision_at_1"])
        if row["measure"] == "word":
            pair = row["pair"]
            gold = bench.held_out_gold(benchmark_dir, pair)
            sources = sorted(gold)[:20]
            assert row["queries"] == 20 and row["candidates"] == len({t for s in sources for t in gold[s]})
            assert all(s not in gold[s] for s in sources)  # identical forms (names, numerals) left out
