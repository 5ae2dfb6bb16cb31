"""XLRS of a real tiny mBART (paper 002 §4), the representation distance of paper 004 Eq. 4,
the xlgen-xlrs CLI (compute / plot / select / spearman / overlap / distance) and checkpoint
selection (§6.2)."""
import json
import os
import shutil

import pytest
import sentencepiece
import torch

from fairseq_xlgen.analysis import model_measurement
from fairseq_xlgen.analysis.checkpoint_selection import CheckpointResult, select_checkpoints, xlrs_score_correlation
from fairseq_xlgen.analysis.checkpoints import list_model_sources
from fairseq.data import LanguagePairDataset

from fairseq_xlgen.analysis.encoder_states import (
    language_pairs, last_decoder_states, mbart_decoder_inputs, mbart_source_tokens, pooled_encoder_states,
)
from fairseq_xlgen.analysis.xlrs import representation_distance, xlrs
from fairseq_xlgen.cli import xlrs as xlrs_cli
from fairseq_xlgen.pretrained import load_mbart

LANGS = ("en_XX", "de_DE")


@pytest.fixture(scope="module")
def mbart(pretrained_dir):
    model, dictionary, num_updates = load_mbart(os.path.join(pretrained_dir, "mbart.cc25"))
    assert num_updates == 0
    return model, dictionary


@pytest.fixture(scope="module")
def parallel_prefix(benchmark_dir, pretrained_dir, tmp_path_factory):
    """12 parallel en_XX/de_DE sentences as SentencePiece pieces: PREFIX.{lang}."""
    processor = sentencepiece.SentencePieceProcessor(
        model_file=os.path.join(pretrained_dir, "mbart.cc25", "sentence.bpe.model"))
    prefix = tmp_path_factory.mktemp("parallel") / "valid"
    for lang in LANGS:
        with open(os.path.join(benchmark_dir, "parallel", f"valid.de_DE-en_XX.{lang}"), encoding="utf-8") as f:
            lines = f.read().splitlines()[:12]
        pieces = [" ".join(p) for p in processor.encode(lines, out_type=str)]
        (prefix.parent / f"valid.{lang}").write_text("\n".join(pieces) + "\n", encoding="utf-8")
    return str(prefix)


def en_tokens(mbart, parallel_prefix):
    model, dictionary = mbart
    with open(f"{parallel_prefix}.en_XX", encoding="utf-8") as f:
        return mbart_source_tokens(f.read().splitlines(), dictionary, "en_XX", model.encoder.max_positions())


def test_padding_and_batch_composition_do_not_change_representations(mbart, parallel_prefix):
    model, dictionary = mbart
    tokens = en_tokens(mbart, parallel_prefix)
    assert len({len(t) for t in tokens}) > 1  # batches really are padded
    one_by_one = pooled_encoder_states(model, tokens, dictionary.pad(), batch_size=1)
    together = pooled_encoder_states(model, tokens, dictionary.pad(), batch_size=len(tokens))
    reversed_order = pooled_encoder_states(model, tokens[::-1], dictionary.pad(), batch_size=5).flip(0)
    assert together.dtype == torch.float32 and together.shape == (12, model.encoder.embed_tokens.embedding_dim)
    assert torch.allclose(one_by_one, together, atol=1e-5) and torch.allclose(reversed_order, together, atol=1e-5)
    # the same sentences on both sides: XLRS 1, whatever the batching
    assert xlrs(one_by_one, reversed_order) == pytest.approx(1.0, abs=1e-6)
    assert model.training is False


def test_fp16_model_is_pooled_in_fp32(mbart, parallel_prefix):
    model, dictionary = mbart
    tokens = en_tokens(mbart, parallel_prefix)[:4]
    full = pooled_encoder_states(model, tokens, dictionary.pad())
    half = pooled_encoder_states(model.half(), tokens, dictionary.pad())
    model.float()
    assert half.dtype == torch.float32
    assert xlrs(full, half) == pytest.approx(1.0, abs=1e-3)


def test_decoder_inputs_are_what_fairseq_feeds_an_mbart_target(mbart, parallel_prefix):
    """translation_from_pretrained_bart: target ``x </s> [lang]``, eos = [lang], the collater moves
    it to the front; our teacher-forced decoder input must be the same tokens."""
    model, dictionary = mbart
    tokens = en_tokens(mbart, parallel_prefix)[:5]
    dataset = LanguagePairDataset(tokens, [len(t) for t in tokens], dictionary, tokens, [len(t) for t in tokens],
                                  dictionary, left_pad_target=False, eos=dictionary.index("[en_XX]"))
    batch = dataset.collater([dataset[i] for i in range(len(tokens))])
    order = batch["id"].tolist()
    for row, prev in zip(order, batch["net_input"]["prev_output_tokens"]):
        expected = mbart_decoder_inputs([tokens[row]])[0]  # [L] x: up to the sentence's last token
        assert prev[: len(expected)].tolist() == expected.tolist()
        assert prev[len(expected)] == dictionary.eos() and len(expected) == len(tokens[row]) - 1
        assert expected[0] == dictionary.index("[en_XX]") and expected[-1] == tokens[row][-3]


def test_last_decoder_states_ignore_padding_and_follow_the_last_token(mbart, parallel_prefix):
    """Paper 004 §V-A: the decoder output on the last token, independent of batching; Eq. 4 is
    zero for identical sentences and equals the norm of the stacked differences."""
    model, dictionary = mbart
    tokens = en_tokens(mbart, parallel_prefix)
    one_by_one = last_decoder_states(model, tokens, dictionary.pad(), batch_size=1)
    together = last_decoder_states(model, tokens, dictionary.pad(), batch_size=len(tokens))
    assert together.shape == (12, model.decoder.embed_tokens.embedding_dim) and together.dtype == torch.float32
    assert torch.allclose(one_by_one, together, atol=1e-5)
    with torch.no_grad():  # a single unpadded sentence: the last row of the decoder's features
        src = tokens[0][None]
        features, _ = model(src, torch.tensor([src.shape[1]]), mbart_decoder_inputs(tokens[:1])[0][None],
                            features_only=True)
    assert torch.allclose(together[0], features[0, -1], atol=1e-5)
    assert representation_distance(together, one_by_one) == pytest.approx(0.0, abs=1e-3)
    shifted = last_decoder_states(model, tokens[1:] + tokens[:1], dictionary.pad())
    assert representation_distance(together, shifted, variant="parallel") == pytest.approx(
        float(((together - shifted) ** 2).sum().sqrt()), rel=1e-5)
    assert representation_distance(together, shifted, variant="parallel") > 0
    # the language means do not depend on the order of the sentences
    assert representation_distance(together, shifted) == pytest.approx(0.0, abs=1e-4)


def test_xlrs_pooling_is_the_mean_over_the_sentence_tokens(mbart, parallel_prefix):
    """Paper 002 footnote 2: mean over the sentence's tokens, without </s> and [lang]."""
    model, dictionary = mbart
    tokens = en_tokens(mbart, parallel_prefix)[:3]
    pooled = pooled_encoder_states(model, tokens, dictionary.pad(), batch_size=3)
    with torch.no_grad():
        for row, sentence in enumerate(tokens):
            states = model.encoder(sentence[None], src_lengths=torch.tensor([len(sentence)]))["encoder_out"][0][:, 0]
            assert torch.allclose(pooled[row], states[:-2].mean(dim=0), atol=1e-5)
            assert not torch.allclose(pooled[row], states.mean(dim=0), atol=1e-3)  # what the old pooling gave
    with pytest.raises(ValueError, match="empty sentence"):
        pooled_encoder_states(model, [tokens[0][-2:]], dictionary.pad())


def test_distance_command_writes_eq4_per_model(pretrained_dir, parallel_prefix, tmp_path, capsys):
    model_dir = os.path.join(pretrained_dir, "mbart.cc25")
    fake_checkpoint(os.path.join(model_dir, "model.pt"), tmp_path / "checkpoint_1_5.pt", 5)
    out = tmp_path / "distance.json"
    xlrs_cli.main(["distance", "--models", model_dir, str(tmp_path / "checkpoint_1_5.pt"), "--parallel-prefix",
                   parallel_prefix, "--langs", "en_XX,de_DE", "--data", model_dir, "--no-progress",
                   "--out", str(out)])
    table = json.loads(out.read_text())
    model, dictionary = load_mbart(model_dir)[:2]
    states = {}
    for lang in LANGS:
        with open(f"{parallel_prefix}.{lang}", encoding="utf-8") as f:
            lang_tokens = mbart_source_tokens(f.read().splitlines(), dictionary, lang, model.encoder.max_positions())
        states[lang] = last_decoder_states(model, lang_tokens, dictionary.pad())
    expected = representation_distance(states["en_XX"], states["de_DE"])
    assert [m["distance"]["en_XX-de_DE"] for m in table["models"]] == pytest.approx([expected, expected], rel=1e-5)
    settings = json.loads((tmp_path / "distance.json.settings.json").read_text())
    assert settings["tool"] == "xlgen-xlrs distance" and settings["max_sentences"] == 20000
    assert settings["variant"] == "means"
    assert "distance en_XX-de_DE" in capsys.readouterr().out

    # monolingual (non-parallel) sentences, unequally many per language: the default variant
    mono = tmp_path / "mono"
    for lang, keep in (("en_XX", slice(0, 12)), ("de_DE", slice(3, 8))):
        with open(f"{parallel_prefix}.{lang}", encoding="utf-8") as f:
            (tmp_path / f"mono.{lang}").write_text("\n".join(f.read().splitlines()[keep]) + "\n", encoding="utf-8")
    xlrs_cli.main(["distance", "--models", model_dir, "--mono-prefix", str(mono), "--langs", "en_XX,de_DE",
                   "--data", model_dir, "--no-progress", "--out", str(tmp_path / "mono.json")])
    de = states["de_DE"][3:8]
    expected = float((states["en_XX"].mean(0) - de.mean(0)).norm())
    assert json.loads((tmp_path / "mono.json").read_text())["models"][0]["distance"]["en_XX-de_DE"] == pytest.approx(
        expected, rel=1e-4)
    # the literal parallel variant: norm of the stacked differences
    xlrs_cli.main(["distance", "--models", model_dir, "--parallel-prefix", parallel_prefix, "--langs", "en_XX,de_DE",
                   "--variant", "parallel", "--data", model_dir, "--no-progress", "--out", str(tmp_path / "par.json")])
    expected = float((states["en_XX"] - states["de_DE"]).norm())
    assert json.loads((tmp_path / "par.json").read_text())["models"][0]["distance"]["en_XX-de_DE"] == pytest.approx(
        expected, rel=1e-4)


def test_language_pairs_default_to_first_language_against_the_others():
    assert language_pairs(["en_XX", "de_DE", "zh_CN"]) == [("en_XX", "de_DE"), ("en_XX", "zh_CN")]
    assert language_pairs(["en_XX", "de_DE"], ["de_DE-en_XX"]) == [("de_DE", "en_XX")]
    with pytest.raises(ValueError, match="two different languages"):
        language_pairs(["en_XX", "de_DE"], ["en_XX-en_XX"])


def fake_checkpoint(model_pt, path, num_updates):
    """The pretrained model.pt saved as a training checkpoint after ``num_updates`` updates."""
    state = torch.load(model_pt, weights_only=False)
    state["optimizer_history"][-1]["num_updates"] = num_updates
    torch.save(state, path)


def test_compute_over_a_checkpoint_directory_is_sorted_cached_and_resumable(
        pretrained_dir, parallel_prefix, tmp_path, monkeypatch):
    model_dir = os.path.join(pretrained_dir, "mbart.cc25")
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    # file names and update counts disagree on purpose: rows are sorted by the counts read from the files
    fake_checkpoint(os.path.join(model_dir, "model.pt"), ckpt / "checkpoint_1_30.pt", 10)
    fake_checkpoint(os.path.join(model_dir, "model.pt"), ckpt / "checkpoint_2_10.pt", 30)
    shutil.copy(ckpt / "checkpoint_1_30.pt", ckpt / "checkpoint_last.pt")
    assert [s.name for s in list_model_sources([model_dir, str(ckpt)])] == [
        "mbart.cc25", "checkpoint_1_30", "checkpoint_2_10"]
    out = tmp_path / "xlrs.json"
    argv = ["compute", "--models", model_dir, str(ckpt), "--parallel-prefix", parallel_prefix,
            "--langs", "en_XX,de_DE", "--data", model_dir, "--no-progress", "--out", str(out)]
    xlrs_cli.main(argv)
    table = json.loads(out.read_text())
    assert table["pairs"] == ["en_XX-de_DE"]
    assert [(m["name"], m["kind"], m["num_updates"]) for m in table["models"]] == [
        ("mbart.cc25", "pretrained", 0), ("checkpoint_1_30", "checkpoint", 10), ("checkpoint_2_10", "checkpoint", 30)]
    values = {m["xlrs"]["en_XX-de_DE"] for m in table["models"]}
    assert len({round(v, 5) for v in values}) == 1 and -1 <= values.pop() <= 1  # the same weights everywhere
    assert json.loads((tmp_path / "xlrs.json.settings.json").read_text())["max_sentences"] == 512

    def no_loading(*args, **kwargs):
        raise AssertionError("a cached model was loaded again")

    monkeypatch.setattr(model_measurement, "load_mbart", no_loading)
    xlrs_cli.main(argv)  # everything from OUT.cache.json
    assert json.loads(out.read_text()) == table
    loaded = []
    monkeypatch.setattr(model_measurement, "load_mbart", lambda path, data: loaded.append(os.path.basename(path).removesuffix(".pt"))
                        or load_mbart(path, data))
    xlrs_cli.main(argv[:-2] + ["--max-sentences", "6", "--out", str(out)])  # other settings: computed again
    assert loaded == ["mbart.cc25", "checkpoint_1_30", "checkpoint_2_10"]

    xlrs_cli.main(["plot", "--xlrs", f"one={out}", f"two={out}", "--out", str(tmp_path / "xlrs.png")])
    assert (tmp_path / "xlrs.png").read_bytes()[:4] == b"\x89PNG"
    plotted = json.loads((tmp_path / "xlrs.png.settings.json").read_text())["curves"]
    assert plotted["two: en_XX-de_DE"] == [[m["num_updates"], m["xlrs"]["en_XX-de_DE"]]
                                          for m in json.loads(out.read_text())["models"]]


def test_select_reports_the_three_criteria_and_ignores_the_pretrained_model(tmp_path, capsys):
    write_selection_inputs(tmp_path)
    out = tmp_path / "selection.json"
    xlrs_cli.main(["select", *scoring_args(tmp_path), "--out", str(out)])
    selection = json.loads(out.read_text())
    rows = {c: row["targets"]["de_DE"] for c, row in selection["rows"].items()}
    assert {c: r["checkpoint"] for c, r in rows.items()} == {"src-dev": "c3", "cos-sim": "c2", "tgt-dev": "c1"}
    assert rows["cos-sim"]["score"] == pytest.approx(100.0) and rows["src-dev"]["score"] == pytest.approx(0.0)
    assert selection["rows"]["cos-sim"]["delta"] == pytest.approx(100 - 200 / 3)
    assert selection["rows"]["tgt-dev"]["delta"] == 0
    markdown = (tmp_path / "selection.md").read_text()
    assert "| cos-sim (lowest XLRS) | 100.00 (@20) | +33.33 |" in markdown and markdown in capsys.readouterr().out
    assert json.loads((tmp_path / "selection.json.settings.json").read_text())["metric"] == "rougeL"


def test_spearman_over_checkpoints(tmp_path):
    write_selection_inputs(tmp_path)
    xlrs_cli.main(["spearman", *scoring_args(tmp_path), "--json", str(tmp_path / "rho.json")])
    rho = json.loads((tmp_path / "rho.json").read_text())
    # XLRS 0.9, 0.5, 0.7 against test ROUGE-L 66.7, 100, 0: rank differences 1, -2, 1
    assert rho["mean"]["rho"] == pytest.approx(-0.5) and rho["mean"]["points"] == 3
    assert rho["per_target"]["de_DE"]["rho"] == pytest.approx(-0.5)


def test_select_checkpoints_breaks_ties_towards_the_earlier_checkpoint():
    results = [CheckpointResult(name, n, {"en_XX-de_DE": 0.5}, {(lang, split): 1.0 for lang in LANGS
                                                               for split in ("valid", "test")})
               for name, n in (("late", 20), ("early", 10))]
    rows = select_checkpoints(results, "en_XX", ["de_DE"])["rows"]
    assert {c: row["targets"]["de_DE"]["checkpoint"] for c, row in rows.items()} == dict.fromkeys(rows, "early")


def test_label_overlap_of_a_task(tmp_path, capsys):
    for lang, lines in (("en_XX", ["Anna saw 3 dogs .", "yes"]), ("de_DE", ["Anna sah 3 Hunde .", "yes"]),
                        ("zh_CN", ["安娜 看见 3 狗 。", "是"])):
        (tmp_path / f"{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    labels = str(tmp_path / "{lang}.txt")
    xlrs_cli.main(["overlap", "--labels", labels, "--src-lang", "en_XX", "--tgt-langs", "de_DE,zh_CN",
                   "--json", str(tmp_path / "d.json")])
    d = json.loads((tmp_path / "d.json").read_text())
    # word tokens (punctuation dropped, Han split into characters): anna, 3, yes of anna sah 3 hunde yes
    assert d["per_target"]["de_DE"] == pytest.approx(100 * 3 / 5)
    assert d["per_target"]["zh_CN"] == pytest.approx(100 * 1 / 7)  # 3 of 安 娜 看 见 3 狗 是
    # task level: the text's average over targets and the equation's sum
    assert d["mean"] == pytest.approx(100 * (3 / 5 + 1 / 7) / 2) and d["sum"] == pytest.approx(100 * (3 / 5 + 1 / 7))
    xlrs_cli.main(["overlap", "--labels", labels, "--src-lang", "en_XX", "--tgt-langs", "de_DE", "--level", "sequence"])
    assert "50.00" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["compute", "--models", "{model}", "--parallel-prefix", "{tmp}/none", "--langs", "en_XX,de_DE"],
     "--parallel-prefix: {tmp}/none.en_XX: missing"),
    (["compute", "--models", "{tmp}", "--parallel-prefix", "{tmp}/raw", "--langs", "en_XX,de_DE"],
     "--models {tmp}: no checkpoint{{N}}.pt or checkpoint_{{E}}_{{U}}.pt files"),
    (["compute", "--models", "{model}", "--parallel-prefix", "{tmp}/raw", "--langs", "en_XX,de_DE"],
     "--parallel-prefix {tmp}/raw.en_XX: not SentencePiece pieces"),
    (["compute", "--models", "{model}", "--parallel-prefix", "{tmp}/short", "--langs", "en_XX,de_DE"],
     "parallel files need equally many non-zero lines"),
    (["compute", "--models", "{model}", "--parallel-prefix", "{tmp}/raw", "--langs", "en_XX,xx"],
     "--langs: unknown language code 'xx'"),
    (["select", "--xlrs", "{tmp}/raw.en_XX", "--hyps", "h", "--refs", "r", "--src-lang", "en_XX",
      "--tgt-langs", "de_DE", "--out", "{tmp}/s.json"], "--xlrs {tmp}/raw.en_XX: not the JSON written by"),
])
def test_bad_input_is_one_error_line(pretrained_dir, tmp_path, capsys, argv, message):
    (tmp_path / "raw.en_XX").write_text("hello world\n")
    (tmp_path / "raw.de_DE").write_text("hallo welt\n")
    (tmp_path / "short.en_XX").write_text("▁a\n▁b\n")
    (tmp_path / "short.de_DE").write_text("▁a\n")
    fill = {"tmp": str(tmp_path), "model": os.path.join(pretrained_dir, "mbart.cc25")}
    with pytest.raises(SystemExit) as exit_info:
        out = [] if "--out" in argv else ["--out", str(tmp_path / "o.json")]
        xlrs_cli.main([a.format(**fill) for a in argv] + out)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and message.format(**fill) in err


def test_select_names_a_missing_output_file(tmp_path, capsys):
    write_selection_inputs(tmp_path)
    os.remove(tmp_path / "c2" / "test.de_DE.txt")
    with pytest.raises(SystemExit):
        xlrs_cli.main(["select", *scoring_args(tmp_path), "--out", str(tmp_path / "s.json")])
    assert f"--hyps {tmp_path}/c2/test.de_DE.txt: no such file" in capsys.readouterr().err


def write_selection_inputs(tmp_path):
    """Three checkpoints; XLRS(en_XX, de_DE) lowest for c2; outputs with ROUGE-L 0, 66.7 or 100."""
    table = {"pairs": ["en_XX-de_DE"], "models": [
        {"name": "mbart.cc25", "kind": "pretrained", "num_updates": 0, "xlrs": {"en_XX-de_DE": 0.1}},
        {"name": "c1", "kind": "checkpoint", "num_updates": 10, "xlrs": {"en_XX-de_DE": 0.9}},
        {"name": "c2", "kind": "checkpoint", "num_updates": 20, "xlrs": {"en_XX-de_DE": 0.5}},
        {"name": "c3", "kind": "checkpoint", "num_updates": 30, "xlrs": {"en_XX-de_DE": 0.7}}]}
    (tmp_path / "xlrs.json").write_text(json.dumps(table))
    outputs = {  # checkpoint -> (valid.en_XX, valid.de_DE, test.de_DE); the reference is "alpha beta"
        "c1": ("gamma", "alpha beta", "alpha"), "c2": ("alpha", "gamma", "alpha beta"),
        "c3": ("alpha beta", "alpha", "gamma")}
    for name, hyps in outputs.items():
        (tmp_path / name).mkdir(exist_ok=True)
        for file, hyp in zip(("valid.en_XX", "valid.de_DE", "test.de_DE"), hyps):
            (tmp_path / name / f"{file}.txt").write_text(hyp + "\n")
    for file in ("valid.en_XX", "valid.de_DE", "test.de_DE"):
        (tmp_path / f"ref.{file}").write_text("alpha beta\n")


def scoring_args(tmp_path):
    return ["--xlrs", str(tmp_path / "xlrs.json"), "--hyps", str(tmp_path / "{checkpoint}/{split}.{lang}.txt"),
            "--refs", str(tmp_path / "ref.{split}.{lang}"), "--src-lang", "en_XX", "--tgt-langs", "de_DE"]


def test_spearman_is_undefined_for_constant_scores():
    results = [CheckpointResult(f"c{n}", n, {"en_XX-de_DE": n / 10}, {("de_DE", "test"): 0.0}) for n in (1, 2, 3)]
    assert xlrs_score_correlation(results, "en_XX", ["de_DE"])["mean"] == {"rho": None, "p_value": None, "points": 3}
