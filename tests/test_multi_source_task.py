"""multi_source_summarization: budget mixing, mBART conventions per example, zero-shot decoding
language, errors; end to end on the tiny mBART (slow): binarize, train two-source with the
XLRS validation metric, generate zero-shot, score."""
import collections
import json
import os

import numpy as np
import pytest
import torch
from fairseq import options, tasks
from fairseq.data import Dictionary, indexed_dataset

from fairseq_xlgen.data.budget_mixing import budget_counts, select_instances
from fairseq_xlgen.errors import InputError, InputFileError
from fairseq_xlgen.pretrained import MBART_CC25_LANGS

from conftest import REPO, free_port, json_logs, multi_source_xlrs_args, run_tool, train_inner_logs

TOY_SIZES = {"en_XX": 30, "de_DE": 20, "ru_RU": 6}


def toy_example(lang, i):
    """Source and target of example i: the first source word names it, lengths vary (padding)."""
    return f"{lang}:{i} " + " ".join(["w"] * (i % 4)), " ".join(["v"] * (1 + i % 3))


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    """DATA/dict.txt and DATA/{lang}/{split}.source-target.{source,target}, the layout of
    prepare_monolingual_task.sh, with a toy dictionary (ru_RU: valid only)."""
    data = tmp_path_factory.mktemp("toy_task")
    dictionary = Dictionary()
    for word in ["w", "v"] + [f"{lang}:{i}" for lang, n in TOY_SIZES.items() for i in range(n)]:
        dictionary.add_symbol(word)
    dictionary.save(str(data / "dict.txt"))
    dictionary = Dictionary.load(str(data / "dict.txt"))
    for lang, n in TOY_SIZES.items():
        (data / lang).mkdir()
        for split in ("train", "valid") if lang != "ru_RU" else ("valid",):
            examples = [toy_example(lang, i) for i in range(n)]
            for column, side in enumerate(("source", "target")):
                prefix = str(data / lang / f"{split}.source-target.{side}")
                builder = indexed_dataset.make_builder(prefix + ".bin", impl="mmap", vocab_size=len(dictionary))
                for example in examples:
                    builder.add_item(dictionary.encode_line(example[column], add_if_not_exist=False))
                builder.finalize(prefix + ".idx")
    return str(data)


def training_args(data, *extra):
    parser = options.get_training_parser(default_task="multi_source_summarization")
    return options.parse_args_and_arch(parser, [
        data, "--task", "multi_source_summarization", "--arch", "mbart_tiny",
        "--langs", ",".join(MBART_CC25_LANGS), *extra])


def setup_task(data, *extra):
    return tasks.setup_task(training_args(data, *extra))


def train_instances(task):
    """The first source word of every training example, e.g. ``en_XX:17``."""
    task.load_dataset("train")
    dataset = task.datasets["train"]
    return [task.src_dict[dataset[i]["source"][0]] for i in range(len(dataset))]


def test_budget_counts_are_exact():
    assert budget_counts(1000, [1, 1]) == [500, 500]
    assert budget_counts(10, [1, 1, 1]) == [4, 3, 3]
    assert budget_counts(7, [0.7, 0.3]) == [5, 2]
    assert sum(budget_counts(999, [0.2, 0.5, 0.3])) == 999
    with pytest.raises(ValueError, match="positive"):
        budget_counts(0, [1])


def test_selection_is_seeded_nested_and_without_replacement():
    available = {"en_XX": 100, "de_DE": 80}
    first = select_instances(available, 60, seed=1)
    assert {lang: len(v) for lang, v in first.items()} == {"en_XX": 30, "de_DE": 30}
    assert all(len(set(v)) == len(v) and list(v) == sorted(v) for v in first.values())
    again = select_instances(available, 60, seed=1)
    assert all(np.array_equal(first[lang], again[lang]) for lang in available)
    other = select_instances(available, 60, seed=2)
    assert not np.array_equal(first["en_XX"], other["en_XX"])
    # a language's choice ignores the other languages; a smaller count is a subset of a larger one
    alone = select_instances({"en_XX": 100}, 60, seed=1)["en_XX"]
    assert set(first["en_XX"]) <= set(alone)
    with pytest.raises(ValueError, match="de_DE needs 90 instances of the budget 180 but has only 80"):
        select_instances(available, 180, seed=1)


def test_train_split_mixes_languages_under_the_budget(toy_data):
    two = train_instances(setup_task(toy_data, "--train-langs", "en_XX,de_DE", "--train-budget", "20", "--seed", "3"))
    assert collections.Counter(word.split(":")[0] for word in two) == {"en_XX": 10, "de_DE": 10}
    assert len(set(two)) == 20
    assert two == train_instances(setup_task(toy_data, "--train-langs", "en_XX,de_DE", "--train-budget", "20",
                                             "--seed", "3"))
    assert two != train_instances(setup_task(toy_data, "--train-langs", "en_XX,de_DE", "--train-budget", "20",
                                             "--seed", "4"))
    ratios = train_instances(setup_task(toy_data, "--train-langs", "en_XX,de_DE", "--train-budget", "20",
                                        "--train-ratios", "3,1"))
    assert collections.Counter(word.split(":")[0] for word in ratios) == {"en_XX": 15, "de_DE": 5}
    everything = train_instances(setup_task(toy_data, "--train-langs", "en_XX,de_DE"))
    assert len(everything) == TOY_SIZES["en_XX"] + TOY_SIZES["de_DE"]


def test_batches_follow_mbart_conventions_per_example(toy_data):
    task = setup_task(toy_data, "--train-langs", "en_XX,de_DE", "--train-budget", "16")
    task.load_dataset("train")
    dataset = task.datasets["train"]
    batch = dataset.collater([dataset[i] for i in range(len(dataset))])
    d = task.src_dict
    pad, eos = d.pad(), d.eos()
    languages = set()
    for src, prev, tgt in zip(batch["net_input"]["src_tokens"], batch["net_input"]["prev_output_tokens"],
                              batch["target"]):
        src, prev, tgt = src[src.ne(pad)], prev[prev.ne(pad)], tgt[tgt.ne(pad)]
        lang = d[src[0]].split(":")[0]
        languages.add(lang)
        assert src[-2:].tolist() == [eos, d.index(f"[{lang}]")]  # x </s> [lang]
        assert prev[0] == d.index(f"[{lang}]")  # decoder input [lang] y
        assert tgt[-1] == eos and torch.equal(prev[1:], tgt[:-1])  # output y </s>
    assert batch["net_input"]["src_tokens"][:, -1].ne(pad).all()  # fairseq's left-padded source
    assert languages == {"en_XX", "de_DE"}


def test_eval_splits_and_generation_use_the_eval_language(toy_data):
    task = setup_task(toy_data, "--train-langs", "en_XX,de_DE", "--eval-lang", "ru_RU")
    task.load_dataset("valid")
    sample = task.datasets["valid"][0]
    assert sample["source"][-1] == task.src_dict.index("[ru_RU]")
    assert task.src_dict[sample["source"][0]].startswith("ru_RU:")

    class RecordingGenerator:
        def generate(self, models, sample, **kwargs):
            return kwargs

    assert task.inference_step(RecordingGenerator(), [], {})["bos_token"] == task.src_dict.index("[ru_RU]")
    assert setup_task(toy_data, "--train-langs", "de_DE").args.eval_lang == "de_DE"  # default: first train language


def test_output_lang_starts_every_output_in_training_and_generation(toy_data):
    """Labels and tags are written alike in every language: one output language token for all examples."""
    task = setup_task(toy_data, "--train-langs", "en_XX,de_DE", "--train-budget", "16", "--eval-lang", "ru_RU",
                      "--output-lang", "en_XX")
    task.load_dataset("train")
    dataset, d = task.datasets["train"], task.src_dict
    for i in range(len(dataset)):
        item = dataset[i]
        lang = d[item["source"][0]].split(":")[0]
        assert item["source"][-1] == d.index(f"[{lang}]")  # the source keeps its own language token
        assert item["prev_output_tokens"].tolist() == [d.index("[en_XX]")] + item["target"][:-1].tolist()

    class RecordingGenerator:
        def generate(self, models, sample, **kwargs):
            return kwargs

    assert task.inference_step(RecordingGenerator(), [], {})["bos_token"] == d.index("[en_XX]")
    with pytest.raises(InputError, match="--output-lang xx_YY: not in --langs"):
        setup_task(toy_data, "--train-langs", "en_XX", "--output-lang", "xx_YY")


@pytest.mark.parametrize("extra, error, message", [
    (["--train-langs", "en_XX,xx_YY"], InputError, "--train-langs xx_YY: not in --langs"),
    (["--train-langs", "en_XX", "--eval-lang", "fr_FR"], InputError, "--eval-lang fr_FR: not in --langs"),
    (["--train-langs", "en_XX", "--train-ratios", "1"], InputError, "--train-ratios needs --train-budget"),
    (["--train-langs", "en_XX,de_DE", "--train-budget", "4", "--train-ratios", "1"], InputError,
     "--train-ratios 1: give 2 non-negative numbers"),
    (["--train-langs", "en_XX", "--source-lang", "de_DE"], InputError, "--source-lang de_DE: not used"),
    (["--train-langs", "en_XX", "--xlrs-parallel-prefix", "/nonexistent/par", "--xlrs-langs", "en_XX,de_DE"],
     InputError, "--xlrs-parallel-prefix: /nonexistent/par.en_XX: missing"),
])
def test_bad_settings_fail_with_one_line(toy_data, extra, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")) as info:
        setup_task(toy_data, *extra)
    assert "\n" not in str(info.value)


def test_bad_data_fail_with_one_line(toy_data):
    task = setup_task(toy_data, "--train-langs", "en_XX,de_DE", "--train-budget", "50")
    with pytest.raises(ValueError, match=r"--train-budget 50: de_DE needs 25 instances .* has only 20 in .*"
                                         r"train\.source-target\.source; lower the budget"):
        task.load_dataset("train")
    task = setup_task(toy_data, "--train-langs", "ru_RU")
    with pytest.raises(InputFileError, match=r"ru_RU/train\.source-target\.source\.bin: missing; binarize ru_RU"):
        task.load_dataset("train")
    with pytest.raises(InputFileError, match="dict.txt: missing"):
        setup_task(os.path.join(toy_data, "en_XX"), "--train-langs", "en_XX")


def _xlrs_of_rank(rank, data, parallel, port, out_dir):
    """One of 2 gloo ranks: the XLRS the task would log, and the XLRS of this rank's own model."""
    from fairseq_xlgen.analysis.encoder_states import xlrs_by_pair

    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    args = training_args(data, "--train-langs", "en_XX", "--xlrs-parallel-prefix", parallel, "--xlrs-langs", "en_XX,de_DE")
    task = tasks.setup_task(args)  # (a dataclass task keeps only its own fields: the model is built from args)
    torch.manual_seed(rank)  # the ranks' models differ: a rank computing XLRS itself would log its own value
    model = task.build_model(args)
    task.begin_valid_epoch(1, model)
    own = xlrs_by_pair(model, task.src_dict, task.xlrs_pieces, task.xlrs_pairs)["en_XX-de_DE"]
    torch.save({"logged": task.xlrs_scores, "own": own}, os.path.join(out_dir, f"rank{rank}.pt"))
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_xlrs_is_computed_on_the_first_rank_and_sent_to_the_others(toy_data, tmp_path):
    parallel = tmp_path / "parallel"
    for lang, words in (("en_XX", "w v"), ("de_DE", "v w w")):
        (tmp_path / f"parallel.{lang}").write_text("".join(f"\u2581 {words} {'v ' * (i % 3)}\n" for i in range(8)))
    torch.multiprocessing.spawn(_xlrs_of_rank, args=(toy_data, str(parallel), free_port(), str(tmp_path)), nprocs=2)
    first, second = (torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1))
    assert first["own"] != pytest.approx(second["own"], abs=1e-4)  # the check below could fail
    assert first["logged"] == second["logged"] == {"xlrs_en_XX_de_DE": first["own"]}


@pytest.mark.slow
def test_two_source_training_logs_xlrs_and_generates_zero_shot(xlrs_summarization_data, benchmark_dir,
                                                              pretrained_dir, tmp_path):
    data, parallel = xlrs_summarization_data
    task_args = ["--user-dir", os.path.join(REPO, "fairseq_xlgen"), "--task", "multi_source_summarization",
                 "--langs", ",".join(MBART_CC25_LANGS)]
    out = run_tool("fairseq-train", *multi_source_xlrs_args(data, parallel, pretrained_dir, tmp_path / "ckpt",
                                                            max_epoch=2))
    assert "train: en_XX 20, de_DE 20 (budget 40, seed 1)" in out
    assert len(train_inner_logs(out)) >= 2
    valid = {int(r["valid_num_updates"]): r for r in json_logs(out, "valid")}
    assert len(valid) == 2  # one validation per epoch, each with XLRS
    assert all(-1 <= float(r["valid_xlrs_en_XX_de_DE"]) <= 1 and "valid_xlrs_en_XX_ru_RU" in r for r in valid.values())

    # the offline tool gives the value logged during training for the same checkpoint
    from fairseq_xlgen.cli import xlrs as xlrs_cli

    xlrs_cli.main(["compute", "--models", str(tmp_path / "ckpt"), "--parallel-prefix", str(parallel),
                   "--langs", "en_XX,de_DE,ru_RU", "--no-progress", "--out", str(tmp_path / "xlrs.json")])
    table = json.loads((tmp_path / "xlrs.json").read_text())
    assert [m["name"] for m in table["models"]] == ["checkpoint1", "checkpoint2"]
    assert [m["num_updates"] for m in table["models"]] == sorted(valid)
    for row in table["models"]:
        assert row["xlrs"]["en_XX-ru_RU"] == pytest.approx(
            float(valid[row["num_updates"]]["valid_xlrs_en_XX_ru_RU"]), abs=1e-5)

    generated = run_tool("fairseq-generate", data, *task_args, "--train-langs", "en_XX,de_DE",
                         "--eval-lang", "ru_RU", "--path", tmp_path / "ckpt" / "checkpoint_last.pt",
                         "--gen-subset", "test", "--beam", "2", "--max-len-b", "20", "--batch-size", "64",
                         "--remove-bpe", "sentencepiece")
    hyps = [line.split("\t")[2] for line in generated.splitlines() if line.startswith("D-")]
    refs = os.path.join(benchmark_dir, "tasks", "summarization", "ru_RU", "test.target")
    assert len(hyps) == sum(1 for _ in open(refs, encoding="utf-8"))
    assert not any("[" in h for h in hyps)  # generation stops at </s>, never emits language tokens
    (tmp_path / "generate.txt").write_text(generated, encoding="utf-8")
    from fairseq_xlgen.cli import score as score_cli

    score_cli.main(["--hyp", str(tmp_path / "generate.txt"), "--ref", refs, "--lang", "ru_RU",
                    "--metrics", "rouge", "--json", str(tmp_path / "scores.json")])
    assert 0 <= json.loads((tmp_path / "scores.json").read_text())["scores"]["rougeL"] <= 100
