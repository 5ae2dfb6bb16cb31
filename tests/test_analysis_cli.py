import json
import os
import subprocess
import sys

import pytest

from fairseq_xlgen.analysis.generate_output import decode_pieces, parse_generate_output, read_hypotheses
from fairseq_xlgen.analysis.plots import plot_xlrs_curves
from fairseq_xlgen.cli import langid as langid_cli
from fairseq_xlgen.cli import score as score_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Batch order, not id order; nbest 2 for id 2; id 1 has no D- line; id 3's hypothesis is empty.
GENERATE_LOG = """\
2024-01-01 10:00:00 | INFO | fairseq_cli.generate | loading model(s) from checkpoint_best.pt
S-2\tdrei vier
T-2\tthree four
H-2\t-0.20\t▁three ▁four
D-2\t-0.20\tthree four
P-2\t-0.1 -0.3
H-2\t-0.90\t▁three ▁for
D-2\t-0.90\tthree for
S-0\teins
T-0\tone
H-0\t-0.10\t▁one
D-0\t-0.10\tone
S-3\tfünf
T-3\tfive
H-3\t-1.50\t
D-3\t-1.50\t
S-1\tzwei
T-1\ttwo
H-1\t-0.30\t▁tw o
2024-01-01 10:00:01 | INFO | fairseq_cli.generate | Generate test with beam=5: BLEU4 = 50.00
"""


def test_parse_generate_output_orders_by_id_and_prefers_detokenized():
    output = parse_generate_output(GENERATE_LOG.splitlines())
    assert output.ids == [0, 1, 2, 3]
    assert output.hypotheses == ["one", "▁tw o", "three four", ""]
    assert output.scores == [-0.10, -0.30, -0.20, -1.50]
    assert output.sources == ["eins", "zwei", "drei vier", "fünf"]
    assert output.targets == ["one", "two", "three four", "five"]


def test_plain_files_and_pieces(tmp_path):
    path = tmp_path / "hyp.txt"
    path.write_text("first line\n\nthird\n", encoding="utf-8")
    output = read_hypotheses(str(path))
    assert output.ids == [0, 1, 2] and output.hypotheses == ["first line", "", "third"]
    assert decode_pieces("▁Hel lo ▁wor ld .") == "Hello world."


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_score_cli_line_count_mismatch_exits_2_with_one_line(tmp_path):
    hyp = write(tmp_path, "hyp.txt", ["a b c", "d e f"])
    ref = write(tmp_path, "ref.txt", ["a b c"])
    out = tmp_path / "scores.json"
    proc = subprocess.run(
        [sys.executable, "-m", "fairseq_xlgen.cli.score", "--hyp", hyp, "--ref", ref, "--lang", "en_XX",
         "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and hyp in errors[0] and ref in errors[0]
    assert "2 hypotheses" in errors[0] and "1 references" in errors[0]
    assert sorted(os.listdir(tmp_path)) == ["hyp.txt", "ref.txt"]  # nothing written


@pytest.mark.parametrize(
    "argv_tail, message",
    [
        (["--lang", "xx_YY"], "--lang: unknown language code"),
        (["--lang", "en", "--metrics", "bleu,meteor"], "unknown metric 'meteor'"),
        (["--lang", "en", "--metrics", "sp_rouge"], "needs --spm"),
    ],
)
def test_score_cli_flag_errors(tmp_path, capsys, argv_tail, message):
    hyp = write(tmp_path, "hyp.txt", ["a"])
    with pytest.raises(SystemExit) as exit_info:
        score_cli.main(["--hyp", hyp, "--ref", hyp] + argv_tail)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and message in err


def test_score_cli_file_errors(tmp_path, capsys):
    ref = write(tmp_path, "ref.txt", ["one", "two", "three", "four", "five"])
    cases = [
        (str(tmp_path / "missing.txt"), "no such file"),
        (write(tmp_path, "empty.txt", []), "empty file"),
        (write(tmp_path, "gap.txt", ["H-0\t-1\tone", "H-2\t-1\tthree"]), "lacks sample ids [1]"),
    ]
    for hyp, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            score_cli.main(["--hyp", hyp, "--ref", ref, "--lang", "en_XX"])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: --hyp {hyp}") and message in err


def test_score_cli_writes_json_and_sidecar(tmp_path, capsys):
    hyp = write(tmp_path, "generate.txt", GENERATE_LOG.splitlines())
    ref = write(tmp_path, "ref.txt", ["one", "two", "three four", "five"])
    train = write(tmp_path, "train.txt", ["one two three four five"] * 3)
    out = tmp_path / "scores.json"
    score_cli.main(["--hyp", hyp, "--ref", ref, "--lang", "en_XX", "--metrics", "bleu,rouge",
                    "--train-ref", train, "--json", str(out)])
    printed = capsys.readouterr().out
    assert "rougeL" in printed and "f-measure" in printed
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["lines"] == 4 and set(payload["scores"]) == {"bleu", "rouge1", "rouge2", "rougeL"}
    # hypotheses: one, two (decoded from pieces), three four, "" -> 3 of 4 sentences perfect
    assert payload["scores"]["rouge1"] == pytest.approx(75.0)
    assert payload["word_accuracy"]["all"]["matches"] == 4
    settings = json.loads((tmp_path / "scores.json.settings.json").read_text(encoding="utf-8"))
    assert settings["tool"] == "xlgen-score" and "tok:13a" in settings["bleu_signature"]
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_langid_cli_with_trained_ngram_model(tmp_path, capsys):
    mono_a = write(tmp_path, "mono.a", ["pata kini sela mapi"] * 20 + ["tika lasi pe nima"] * 20)
    mono_b = write(tmp_path, "mono.b", ["boru dago noma rulo"] * 20 + ["gado bonu ro lumo"] * 20)
    hyp = write(tmp_path, "hyp.txt", ["pata sela kini", "tika nima", "boru dago"])
    out, model = tmp_path / "lid.json", tmp_path / "model.json"
    langid_cli.main(["--hyp", hyp, "--src-lang", "en_XX", "--tgt-lang", "de_DE", "--backend", "ngram",
                     "--train-ngram", f"de_DE={mono_a}", "--train-ngram", f"en_XX={mono_b}",
                     "--save-ngram-model", str(model), "--json", str(out)])
    summary = json.loads(out.read_text(encoding="utf-8"))["summary"]
    assert summary["wrong_language_rate"] == pytest.approx(100 / 3)
    assert summary["source_language_rate"] == pytest.approx(100 / 3)
    assert "33.33" in capsys.readouterr().out

    langid_cli.main(["--hyp", hyp, "--src-lang", "en_XX", "--tgt-lang", "de_DE", "--backend", "ngram",
                     "--ngram-model", str(model), "--json", str(out)])
    assert json.loads(out.read_text(encoding="utf-8"))["summary"] == summary

    with pytest.raises(SystemExit) as exit_info:
        langid_cli.main(["--hyp", hyp, "--src-lang", "fr_XX", "--tgt-lang", "de_DE", "--backend", "ngram",
                         "--ngram-model", str(model)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("error: --src-lang fr_XX")


def test_xlrs_plot_is_written(tmp_path):
    path = tmp_path / "xlrs.png"
    plot_xlrs_curves({"en-de": [(0, 0.4), (2000, 0.6), (1000, 0.5)], "en-zh": [(0, 0.2), (1000, 0.3)]}, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
