"""Lexicon pipeline command-line tools (run as subprocesses) and their file handling:
word2vec text I/O, one-line errors with exit status 2, atomic outputs."""
import json
import os
import random
import subprocess
import sys

import pytest
import sentencepiece
import torch
from conftest import tool_env

from fairseq_xlgen.errors import InputFileError
from fairseq_xlgen.file_io import atomic_output
from fairseq_xlgen.lexicon.embeddings_io import read_embeddings, write_embeddings

W = "\u2581"
ENV = tool_env(PYTHONHASHSEED="0")  # gensim seeds its vectors with hash(): make runs repeatable


def run_cli(name, *args):
    return subprocess.run([sys.executable, "-m", f"fairseq_xlgen.cli.{name}", *map(str, args)],
                          capture_output=True, text=True, env=ENV, timeout=300)


def assert_one_line_error(process, *fragments):
    assert process.returncode == 2, process.stderr
    error_lines = [line for line in process.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1, process.stderr
    assert "Traceback" not in process.stderr
    for fragment in fragments:
        assert fragment in error_lines[0]


def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- file formats


def test_embeddings_round_trip(tmp_path):
    words, emb = ["▁the", ",", "x"], torch.tensor([[0.5, -1.0], [1e-3, 2.0], [3.25, 0.0]])
    write_embeddings(str(tmp_path / "e.vec"), words, emb)
    assert (tmp_path / "e.vec").read_text(encoding="utf-8").splitlines()[:2] == ["3 2", "▁the 0.5 -1"]
    read_words, read_emb = read_embeddings(str(tmp_path / "e.vec"))
    assert read_words == words and torch.allclose(read_emb, emb)


@pytest.mark.parametrize("content, line, message", [
    ("2 3\na 1 2 3\nb 1 2\n", 3, "expected a word and 3 values"),
    ("2 3\na 1 2 3\nb 1 x 3\n", 3, "non-numeric value"),
    ("2 3\na 1 2 3\na 1 2 3\n", 3, "duplicate word 'a'"),
    ("3 3\na 1 2 3\nb 1 2 3\n", 1, "header announces 3 words"),
    ("a 1 2 3\n", 1, "expected a word2vec header"),
])
def test_malformed_embedding_files_name_file_and_line(tmp_path, content, line, message):
    path = write_text(tmp_path / "bad.vec", content)
    with pytest.raises(InputFileError) as error:
        read_embeddings(str(path))
    assert str(error.value).startswith(f"{path}:{line}: {message}")


def test_atomic_output_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = write_text(tmp_path / "out.txt", "complete old content\n")
    with pytest.raises(RuntimeError):
        with atomic_output(str(path)) as f:
            f.write("half")
            raise RuntimeError("interrupted")
    assert path.read_text() == "complete old content\n"
    assert os.listdir(tmp_path) == ["out.txt"]


# ---------------------------------------------------------------- errors of the tools


def test_malformed_embedding_line_exits_2_with_file_and_line(tmp_path):
    good = write_text(tmp_path / "good.vec", "2 3\na 1 2 3\nb 4 5 6\n")
    bad = write_text(tmp_path / "bad.vec", "2 3\na 1 2 3\nb 4 5\n")
    process = run_cli("map_embeddings", "--src-emb", good, "--tgt-emb", bad,
                      "--src-out", tmp_path / "s.out", "--tgt-out", tmp_path / "t.out")
    assert_one_line_error(process, f"{bad}:3:", "expected a word and 3 values")
    assert sorted(os.listdir(tmp_path)) == ["bad.vec", "good.vec"]  # nothing written, no temporaries


def test_dimension_mismatch_and_bad_seed_dictionary_exit_2(tmp_path):
    src = write_text(tmp_path / "src.vec", "2 3\na 1 2 3\nb 4 5 6\n")
    tgt = write_text(tmp_path / "tgt.vec", "2 2\na 1 2\nc 4 5\n")
    outputs = ("--src-out", tmp_path / "s.out", "--tgt-out", tmp_path / "t.out")
    assert_one_line_error(run_cli("map_embeddings", "--src-emb", src, "--tgt-emb", tgt, *outputs),
                          f"{tgt}:1:", "dimension 2 differs")
    seed = write_text(tmp_path / "seed.txt", "a a\nb\n")
    assert_one_line_error(run_cli("map_embeddings", "--src-emb", src, "--tgt-emb", src, "--seed-dictionary",
                                  seed, *outputs), f"{seed}:2:", "expected 'source_word target_word'")
    assert_one_line_error(run_cli("induce_lexicon", "--src-emb", tmp_path / "missing.vec", "--tgt-emb", src,
                                  "--out-prefix", tmp_path / "lex"), "missing.vec: embedding file not found")
    assert not any(name.endswith(".out") or name.startswith("lex") for name in os.listdir(tmp_path))


def test_train_embeddings_rejects_an_empty_corpus(tmp_path):
    corpus = write_text(tmp_path / "empty.txt", "\n\n")
    process = run_cli("train_embeddings", "--input", corpus, "--output", tmp_path / "e.vec")
    assert_one_line_error(process, f"{corpus}:1:", "empty corpus")
    assert os.listdir(tmp_path) == ["empty.txt"]


# ---------------------------------------------------------------- spm_encode


def test_spm_encode_writes_pieces_and_skips_up_to_date_outputs(tmp_path):
    text = write_text(tmp_path / "text.txt", "".join(f"the cat {i} sat on the mat number {i}\n" for i in range(200)) + "\n")
    sentencepiece.SentencePieceTrainer.train(input=str(text), model_prefix=str(tmp_path / "spm"), vocab_size=40,
                                             minloglevel=2)
    model, out = tmp_path / "spm.model", tmp_path / "text.spm"
    process = run_cli("spm_encode", "--model", model, "--inputs", text, "--outputs", out, "--no-progress")
    assert process.returncode == 0, process.stderr
    processor = sentencepiece.SentencePieceProcessor(model_file=str(model))
    lines = text.read_text(encoding="utf-8").splitlines()
    assert out.read_text(encoding="utf-8").splitlines() == [" ".join(processor.encode(line, out_type=str)) for line in lines]
    assert out.read_text(encoding="utf-8").splitlines()[-1] == ""  # empty line kept: files stay aligned

    stamp = out.stat().st_mtime_ns
    process = run_cli("spm_encode", "--model", model, "--inputs", text, "--outputs", out, "--no-progress")
    assert "up to date, skipped" in process.stderr and out.stat().st_mtime_ns == stamp

    broken = tmp_path / "latin1.txt"
    broken.write_bytes(b"ok line\ncaf\xe9\n")
    process = run_cli("spm_encode", "--model", model, "--inputs", broken, "--outputs", tmp_path / "latin1.spm")
    assert_one_line_error(process, f"{broken}:2:", "not valid UTF-8")
    assert not (tmp_path / "latin1.spm").exists()


# ---------------------------------------------------------------- end to end


def write_parallel_toy_corpora(directory, n_words=200, n_topics=10, sentences=3000, seed=0):
    """Two 'languages' with the same sentences and renamed one-piece words (▁w17 <-> ▁v17); a
    few tokens (▁w1, ▁w2, ▁w3) spelled the same in both. Topic-structured, Zipf-weighted
    background words."""
    rng = random.Random(seed)
    words = [f"{W}w{i}" for i in range(n_words)]
    weights = [1 / (i + 1) for i in range(n_words)]
    topic_size = n_words // n_topics
    with open(directory / "src.txt", "w") as src, open(directory / "tgt.txt", "w") as tgt:
        for _ in range(sentences):
            topic = rng.randrange(n_topics)
            sentence = [words[topic * topic_size + rng.randrange(topic_size)] if rng.random() < 0.6
                        else rng.choices(words, weights)[0] for _ in range(10)]
            src.write(" ".join(sentence) + "\n")
            tgt.write(" ".join(w if w[1:] in ("w1", "w2", "w3") else f"{W}v" + w[2:] for w in sentence) + "\n")


def test_word2vec_map_induce_end_to_end(tmp_path):
    write_parallel_toy_corpora(tmp_path)
    for side in ("src", "tgt"):
        process = run_cli("train_embeddings", "--input", tmp_path / f"{side}.txt", "--output", tmp_path / f"{side}.vec",
                          "--dim", 32, "--epochs", 5, "--min-count", 1, "--workers", 1)
        assert process.returncode == 0, process.stderr
    assert json.loads((tmp_path / "src.vec.json").read_text())["settings"]["vector_size"] == 32

    process = run_cli("map_embeddings", "--src-emb", tmp_path / "src.vec", "--tgt-emb", tmp_path / "tgt.vec",
                      "--src-out", tmp_path / "src.mapped.vec", "--tgt-out", tmp_path / "tgt.mapped.vec",
                      "--stochastic-interval", 5, "--checkpoint", tmp_path / "map.ckpt")
    assert process.returncode == 0, process.stderr
    assert "iteration 1: objective" in process.stderr
    sidecar = json.loads((tmp_path / "src.mapped.vec.json").read_text())
    assert sidecar["iterations"] > 0 and sidecar["config"]["init"] == "unsupervised"

    # model dictionary without w5/v5: they must disappear from the lexicon, not become <unk>
    vocabulary = [f"{W}{p}{i}" for i in range(200) for p in "wv" if i != 5 and not (p == "v" and i in (1, 2, 3))]
    write_text(tmp_path / "dict.txt", "".join(f"{w} 1\n" for w in vocabulary))
    process = run_cli("induce_lexicon", "--src-emb", tmp_path / "src.mapped.vec", "--tgt-emb",
                      tmp_path / "tgt.mapped.vec", "--out-prefix", tmp_path / "lex", "--dict", tmp_path / "dict.txt")
    assert process.returncode == 0, process.stderr

    rows = [line.split("\t") for line in (tmp_path / "lex.src2tgt.tsv").read_text().splitlines()]
    assert all(len(row) == 4 for row in rows)
    assert len(rows) == 3 * 199 and {row[3] for row in rows} == {"1", "2", "3"}
    assert not any("5" == row[0][2:] or "5" == row[1][2:] for row in rows)
    for i in range(0, len(rows), 3):
        scores = [float(row[2]) for row in rows[i:i + 3]]
        assert scores == sorted(scores, reverse=True) and len({row[0] for row in rows[i:i + 3]}) == 1
    # unsupervised mapping of two renamed copies of one corpus: the best candidate is the renamed word
    best = [(row[0], row[1]) for row in rows if row[3] == "1"]
    correct = sum(s[2:] == t[2:] for s, t in best)
    assert correct / len(best) > 0.8, best[:20]  # measured 1.0

    ids = {word: 4 + line for line, word in enumerate(vocabulary)}
    id_rows = [line.split("\t") for line in (tmp_path / "lex.src2tgt.ids.tsv").read_text().splitlines()]
    assert [(int(a), int(b), c, d) for a, b, c, d in id_rows] == [(ids[a], ids[b], c, d) for a, b, c, d in rows]
    assert (tmp_path / "lex.tgt2src.tsv").exists() and (tmp_path / "lex.tgt2src.ids.tsv").exists()
    assert json.loads((tmp_path / "lex.json").read_text())["k"] == 3


def test_word2vec_vocabulary_is_the_switching_units(tmp_path):
    """--units switch (default): multi-piece words are one token, Chinese pieces one token each,
    the same units the lexicon and the switcher use."""
    corpus = write_text(tmp_path / "pieces.txt", "".join(
        f"{W}the {W}ca t {W}sleep s\n{W}布什 与 沙龙 举行 了 会谈 。\n" for _ in range(20)))
    process = run_cli("train_embeddings", "--input", corpus, "--output", tmp_path / "e.vec", "--dim", 8,
                      "--epochs", 1, "--min-count", 1, "--workers", 1)
    assert process.returncode == 0, process.stderr
    words, _ = read_embeddings(str(tmp_path / "e.vec"))
    assert set(words) == {f"{W}the", f"{W}ca\u2040t", f"{W}sleep\u2040s", f"{W}布什", "与", "沙龙", "举行", "了",
                          "会谈", "。"}
    assert json.loads((tmp_path / "e.vec.json").read_text())["units"] == "switch"
    assert sorted(os.listdir(tmp_path)) == ["e.vec", "e.vec.json", "pieces.txt"]  # no temporary file left
    # plain whitespace tokens need --units tokens; without it, a one-line error
    plain = write_text(tmp_path / "plain.txt", "the cat sleeps\n" * 5)
    assert_one_line_error(run_cli("train_embeddings", "--input", plain, "--output", tmp_path / "p.vec"),
                          f"{plain}:1:", "--units tokens")
    process = run_cli("train_embeddings", "--input", plain, "--output", tmp_path / "p.vec", "--units", "tokens",
                      "--dim", 8, "--epochs", 1, "--min-count", 1, "--workers", 1)
    assert process.returncode == 0 and set(read_embeddings(str(tmp_path / "p.vec"))[0]) == {"the", "cat", "sleeps"}
