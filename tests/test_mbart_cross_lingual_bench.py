"""bench/mbart_cross_lingual.py: the copy batch is fairseq's mBART finetuning collation; every pair and language runs."""
import json

import torch
from fairseq.data import LanguagePairDataset

from bench import mbart_cross_lingual as bench
from fairseq_xlgen.pretrained import MBART_LAYOUT, load_pretrained


def test_copy_batch_matches_the_finetuning_tasks_collation(pretrained_dir):
    hub = load_pretrained(f"{pretrained_dir}/mbart.cc25", MBART_LAYOUT)
    dictionary = hub.task.source_dictionary
    lang = dictionary.index("[zh_CN]")
    sentences = [torch.tensor([10, 11, 12, dictionary.eos(), lang]), torch.tensor([13, dictionary.eos(), lang])]
    source, lengths, target, prev = bench.finetuning_batch(sentences, dictionary, "zh_CN")
    # translation_from_pretrained_bart's dataset: left-padded source, target with the language token as eos
    pairs = LanguagePairDataset(sentences, [5, 3], dictionary, sentences, [5, 3], dictionary,
                                left_pad_source=True, left_pad_target=False, eos=lang)
    batch = pairs.collater([pairs[0], pairs[1]])
    assert torch.equal(batch["net_input"]["src_tokens"], source)
    assert torch.equal(batch["target"], target)
    assert torch.equal(batch["net_input"]["prev_output_tokens"], prev)
    assert prev[1].tolist() == [lang, 13, dictionary.eos(), dictionary.pad(), dictionary.pad()]


def test_every_pair_and_language_is_measured_on_the_tiny_fixture(benchmark_dir, pretrained_dir, tmp_path):
    out = tmp_path / "result.json"
    bench.main(["--benchmark", benchmark_dir, "--mbart", f"random={pretrained_dir}/mbart.cc25", "--max-words", "20",
                "--json", str(out)])
    rows = json.loads(out.read_text())
    assert [(r.get("pair"), r["measure"]) for r in rows[:6]] == [(p, m) for p in bench.PAIRS for m in ("sentence", "word")]
    assert [r["language"] for r in rows[6:]] == list(bench.LANGS)
    for row in rows[:6]:
        assert row["chance"] == 1 / row["candidates"] and 0 <= row["precision_at_1"] <= 1
    for row in rows[6:]:
        assert abs(row["encoder_worth"] - (row["encoder_zeroed"] - row["with_encoder"])) < 1e-9
        assert row["with_encoder"] > 0
