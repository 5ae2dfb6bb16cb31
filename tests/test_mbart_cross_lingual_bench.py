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


def test_a_checkpoint_becomes_a_model_directory_with_its_weights_and_a_misfit_is_one_line(pretrained_dir, tmp_path):
    """bench/fixture_from_checkpoint.py: the tiny fixture's own model.pt, given as a build's checkpoint, comes back
    weight for weight; flags of another size are refused in one line, nothing written."""
    import shutil
    import subprocess
    import sys

    from conftest import REPO

    build = tmp_path / "build"
    build.mkdir()
    shutil.copyfile(f"{pretrained_dir}/mbart.cc25/sentence.bpe.model", build / "spm.model")
    shutil.copyfile(f"{pretrained_dir}/mbart.cc25/dict.txt", build / "dict.txt")

    def convert(flags, out):
        return subprocess.run([sys.executable, "-m", "bench.fixture_from_checkpoint", "--build", str(build), "--model",
                               "mbart", "--checkpoint", f"{pretrained_dir}/mbart.cc25/model.pt", "--flags", flags,
                               "--out", str(out)], cwd=REPO, capture_output=True, text=True)

    done = convert("", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{tmp_path / 'out' / 'mbart.cc25'}\tupdate 0\n"
    original = torch.load(f"{pretrained_dir}/mbart.cc25/model.pt", weights_only=False)["model"]
    converted = torch.load(tmp_path / "out" / "mbart.cc25" / "model.pt", weights_only=False)["model"]
    assert original.keys() == converted.keys()
    assert all(torch.equal(original[key], converted[key]) for key in original)
    load_pretrained(str(tmp_path / "out" / "mbart.cc25"), MBART_LAYOUT)
    refused = convert("--embed-dim 32", tmp_path / "misfit")
    assert refused.returncode == 2
    error = refused.stderr.strip().splitlines()[-1]
    assert "Traceback" not in refused.stderr
    assert error.startswith("error: --checkpoint ") and "size mismatch" in error and error.endswith("flags")
    assert list((tmp_path / "misfit").iterdir()) == []
