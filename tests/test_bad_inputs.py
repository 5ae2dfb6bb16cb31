"""Bad input (issue 10 §3): one table over every console script of setup.py and the file and value
options of our fairseq tasks and models (fairseq-train/generate with --user-dir).

Every case must exit non-zero with a last stderr line that names the file, line or flag and says
what to do (the case's expected fragments), print no traceback, and create or change no file in its
directory (outputs, temporaries, save dirs all go there). The cases run in one runner process that
forks a child per case (tests/bad_input_runner.py: the console scripts' own entry points, their real
exit status and stderr); ``test_runner_matches_the_console_scripts`` checks two cases against real
console-script processes.
"""
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import pytest
from conftest import REPO, mbart_finetune_args, tool_env

from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS, MBART_CC25_LANGS

from bad_input_runner import console_scripts  # tests/ is on sys.path, as for conftest

CC25 = ",".join(MBART_CC25_LANGS)
SWAPPED = ",".join(MBART_CC25_LANGS[:2][::-1] + MBART_CC25_LANGS[2:])  # cs_CZ,ar_AR,...: same length, other order
W = "\u2581"


@dataclass
class Case:
    id: str
    argv: Sequence[str]  #: script and arguments; {d} is the case's directory, other {names} see context()
    expect: Sequence[str]  #: fragments of the last stderr line
    setup: Optional[Callable] = None  #: setup(d, ctx) writes the bad files into d


def write(name, content):
    """A setup writing ``content`` (str: UTF-8, bytes: as is) to ``d/name``."""
    def setup(d, ctx):
        path = os.path.join(d, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content.encode("utf-8") if isinstance(content, str) else content)
    return setup


def truncated(name, source, keep=0.5):
    """A setup writing the first ``keep`` share of the bytes of ``source`` to ``d/name``."""
    def setup(d, ctx):
        with open(source.format(**ctx), "rb") as f:
            data = f.read()
        write(name, data[: int(len(data) * keep)])(d, ctx)
    return setup


def copied(name, source, change=None):
    """A setup copying the file or directory ``source`` to ``d/name``, then ``change(path)``."""
    def setup(d, ctx):
        path, src = os.path.join(d, name), source.format(**ctx)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, path)
        if change:
            change(path)
    return setup


def steps(*setups):
    def setup(d, ctx):
        for one in setups:
            one(d, ctx)
    return setup


def cut_dict_files(directory, *names):
    """A setup dropping the last 10 lines of each ``d/directory/name`` (a dictionary that fits no model)."""
    def setup(d, ctx):
        for name in names:
            path = os.path.join(d, directory, name)
            with open(path, encoding="utf-8") as f:
                lines = f.readlines()
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(lines[:-10])
    return setup


def spm_as_text(model_dir):
    with open(os.path.join(model_dir, "sentence.bpe.model"), "w", encoding="utf-8") as f:
        f.write("this is not a sentencepiece model\n")


def corrupt_pickle(path):
    """Flip bytes inside the pickle of a zip-format torch file (its data.pkl), keeping the archive valid."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    name = next(n for n in entries if n.endswith("data.pkl"))
    entries[name] = entries[name][:20] + b"\x00\xff\x13" * 40 + entries[name][140:]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)


LATIN1 = "caf\xe9 cr\xe8me br\xfbl\xe9e\n".encode("latin-1")
GOOD_VEC = "2 3\na 1 2 3\nb 4 5 6\n"


def train(*args):
    """fairseq-train of an mBART finetune on translation_bin (conftest's recipe), save dir d/save."""
    return ["fairseq-train", *BASE_TRAIN, *args]


# conftest.mbart_finetune_args with placeholders; --task is replaced by cases that need another one
BASE_TRAIN = [str(a) for a in mbart_finetune_args("{tbin}", "{fixtures}", "{d}/save", max_update=1)]


def with_option(argv, flag, value=None):
    """``argv`` with ``flag``'s value replaced (or the flag removed when ``value`` is None)."""
    argv = list(argv)
    i = argv.index(flag)
    if value is None:
        del argv[i: i + 2]
    else:
        argv[i + 1] = value
    return argv


def replaced(argv, old, new):
    return [new if a == old else a for a in argv]


def without(argv, *flags):
    return [a for a in argv if a not in flags]


def task_train(task, *args):
    return ["fairseq-train", *with_option(BASE_TRAIN, "--task", task), *args]


MSUM = ["fairseq-train", "{d}/msum", *with_option(BASE_TRAIN[1:], "--task", "multi_source_summarization")]
MSUM = without(MSUM, "--source-lang", "en_XX", "--target-lang", "de_DE")
LAFT = ["fairseq-train", *with_option(BASE_TRAIN, "--arch", "mbart_laft_tiny"), "--laft-stage", "2",
        "--laft-langs", "en_XX,de_DE", "--language-components", "{comp}"]
SGA = ["fairseq-train", "{d}/sga", "--user-dir", "{userdir}", "--task", "sga_translation", "-s", "de_DE", "-t", "en_XX",
       "--arch", "xlmr_sga_tiny", "--pretrained-xlmr-checkpoint", "{fixtures}/xlmr.base", "--prompt-length", "8",
       "--criterion", "sga_ctc", "--optimizer", "adam", "--lr", "1e-3", "--max-tokens", "512", "--max-update", "1",
       "--save-dir", "{d}/save", "--disable-validation", "--num-workers", "0"]
SGA_DATA = steps(copied("sga/dict.de_DE.txt", "{fixtures}/xlmr.base/dict.txt"),
                 copied("sga/dict.en_XX.txt", "{fixtures}/xlmr.base/dict.txt"))
MSUM_DATA = copied("msum/dict.txt", "{fixtures}/mbart.cc25/dict.txt")
GENERATE = ["fairseq-generate", "{tbin}", "--user-dir", "{userdir}", "--task", "translation_from_pretrained_bart",
            "--langs", CC25, "-s", "en_XX", "-t", "de_DE", "--path", "{fixtures}/mbart.cc25/model.pt",
            "--gen-subset", "valid", "--beam", "1", "--max-len-b", "5"]  # no --results-path: fairseq opens it before any input is read


def lexicon_files(d, ctx):
    """A one-entry lexicon of two words of the tiny mBART dictionary, both directions."""
    with open(os.path.join(ctx["fixtures"], "mbart.cc25", "dict.txt"), encoding="utf-8") as f:
        a, b = [w for w in (line.split()[0] for line in f) if w.startswith(W) and len(w) > 1][:2]
    write("lex.src2tgt.tsv", f"{a}\t{b}\t0.5\t1\n")(d, ctx)
    write("lex.tgt2src.tsv", f"{b}\t{a}\t0.5\t1\n")(d, ctx)



CSR = task_train("code_switch_restore", "--lexicon-prefix", "{d}/lex")

CASES = [
    # ---- xlgen-train-embeddings
    Case("train-emb/missing", ["xlgen-train-embeddings", "--input", "{d}/nope.txt", "--output", "{d}/e.vec"],
         ["{d}/nope.txt: corpus not found; check the path"]),
    Case("train-emb/empty", ["xlgen-train-embeddings", "--input", "{d}/empty.txt", "--output", "{d}/e.vec",
                             "--units", "tokens"], ["{d}/empty.txt:1: empty corpus", "pass a tokenized text file"],
         write("empty.txt", "\n\n")),
    Case("train-emb/non-utf8", ["xlgen-train-embeddings", "--input", "{d}/latin1.txt", "--output", "{d}/e.vec"],
         ["{d}/latin1.txt:1: not valid UTF-8; re-encode the file as UTF-8"], write("latin1.txt", LATIN1)),
    Case("train-emb/dim-0", ["xlgen-train-embeddings", "--input", "{pieces}", "--output", "{d}/e.vec", "--dim", "0"],
         ["argument --dim: 0: must be a positive integer"]),
    Case("train-emb/window-0", ["xlgen-train-embeddings", "--input", "{pieces}", "--output", "{d}/e.vec",
                                "--window", "0"], ["argument --window: 0: must be a positive integer"]),
    Case("train-emb/not-pieces", ["xlgen-train-embeddings", "--input", "{d}/raw.txt", "--output", "{d}/e.vec"],
         ["{d}/raw.txt:1: no SentencePiece piece", "encode it with xlgen-spm-encode or pass --units tokens"],
         write("raw.txt", "plain words here\n")),
    Case("train-emb/words-japanese", ["xlgen-train-embeddings", "--input", "{pieces}", "--output", "{d}/e.vec",
                                      "--lexicon-unit", "words", "--lang", "ja_XX"],
         ["ja_XX: Japanese is written without spaces and has no word segmenter", "pass --lexicon-unit pieces"]),
    Case("train-emb/output-is-directory", ["xlgen-train-embeddings", "--input", "{pieces}", "--output", "{d}/out"],
         ["--output {d}/out: is a directory; name the output file"], write("out/kept", "")),
    # ---- xlgen-map-embeddings
    Case("map-emb/output-is-directory", ["xlgen-map-embeddings", "--src-emb", "{good_vec}", "--tgt-emb", "{good_vec}",
                                         "--src-out", "{d}/out", "--tgt-out", "{d}/t.vec", "--identical"],
         ["--src-out {d}/out: is a directory; name the output file"], write("out/kept", "")),
    Case("map-emb/missing", ["xlgen-map-embeddings", "--src-emb", "{d}/nope.vec", "--tgt-emb", "{good_vec}",
                             "--src-out", "{d}/s.vec", "--tgt-out", "{d}/t.vec"],
         ["{d}/nope.vec: embedding file not found; check the path"]),
    Case("map-emb/empty", ["xlgen-map-embeddings", "--src-emb", "{d}/empty.vec", "--tgt-emb", "{good_vec}",
                           "--src-out", "{d}/s.vec", "--tgt-out", "{d}/t.vec"],
         ["{d}/empty.vec:1: empty file; expected a word2vec header"], write("empty.vec", "")),
    Case("map-emb/header-no-rows", ["xlgen-map-embeddings", "--src-emb", "{d}/rows0.vec", "--tgt-emb", "{d}/rows0.vec",
                                    "--src-out", "{d}/s.vec", "--tgt-out", "{d}/t.vec"],
         ["{d}/rows0.vec:1: header '0 3' announces no vectors", "xlgen-train-embeddings"], write("rows0.vec", "0 3\n")),
    Case("map-emb/truncated", ["xlgen-map-embeddings", "--src-emb", "{d}/cut.vec", "--tgt-emb", "{good_vec}",
                               "--src-out", "{d}/s.vec", "--tgt-out", "{d}/t.vec"],
         ["{d}/cut.vec:3: expected a word and 3 values", "regenerate or fix this line"], write("cut.vec", GOOD_VEC[:-4])),
    Case("map-emb/nan", ["xlgen-map-embeddings", "--src-emb", "{d}/nan.vec", "--tgt-emb", "{good_vec}",
                         "--src-out", "{d}/s.vec", "--tgt-out", "{d}/t.vec"],
         ["{d}/nan.vec:2: non-finite value (NaN or Inf)", "retrain or fix"], write("nan.vec", "2 3\na nan 2 3\nb 4 5 6\n")),
    Case("map-emb/dim-mismatch", ["xlgen-map-embeddings", "--src-emb", "{good_vec}", "--tgt-emb", "{d}/d2.vec",
                                  "--src-out", "{d}/s.vec", "--tgt-out", "{d}/t.vec"],
         ["{d}/d2.vec:1: dimension 2 differs", "train both with the same --dim"], write("d2.vec", "2 2\na 1 2\nc 4 5\n")),
    Case("map-emb/seed-dict-fields", ["xlgen-map-embeddings", "--src-emb", "{good_vec}", "--tgt-emb", "{good_vec}",
                                      "--seed-dictionary", "{d}/seed.txt", "--src-out", "{d}/s.vec", "--tgt-out",
                                      "{d}/t.vec"],
         ["{d}/seed.txt:2: expected 'source_word target_word', found 3 fields; fix this line"],
         write("seed.txt", "a a\na b c\n")),
    # ---- xlgen-induce-lexicon
    Case("induce/inf", ["xlgen-induce-lexicon", "--src-emb", "{good_vec}", "--tgt-emb", "{d}/inf.vec",
                        "--out-prefix", "{d}/lex"], ["{d}/inf.vec:3: non-finite value (NaN or Inf)"],
         write("inf.vec", "2 3\na 1 2 3\nb 4 inf 6\n")),
    Case("induce/k-negative", ["xlgen-induce-lexicon", "--src-emb", "{good_vec}", "--tgt-emb", "{good_vec}",
                               "--out-prefix", "{d}/lex", "--k", "-1"], ["argument --k: -1: must be a positive integer"]),
    Case("induce/batch-size-0", ["xlgen-induce-lexicon", "--src-emb", "{good_vec}", "--tgt-emb", "{good_vec}",
                                 "--out-prefix", "{d}/lex", "--batch-size", "0"],
         ["argument --batch-size: 0: must be a positive integer"]),
    Case("induce/dict-not-matching-rows", ["xlgen-induce-lexicon", "--src-emb", "{good_vec}", "--tgt-emb", "{good_vec}",
                                           "--out-prefix", "{d}/lex", "--dict", "{fixtures}/mbart.cc25/dict.txt"],
         ["{fixtures}/mbart.cc25/dict.txt: no embedding word is a token of this dictionary",
          "encoded with the model's SentencePiece"]),
    Case("induce/dict-truncated", ["xlgen-induce-lexicon", "--src-emb", "{good_vec}", "--tgt-emb", "{good_vec}",
                                   "--out-prefix", "{d}/lex", "--dict", "{d}/dict.txt"],
         ["{d}/dict.txt:2: expected '<token> <count> [#fairseq:overwrite]'", "fix this line"],
         write("dict.txt", f"{W}a 10\n{W}b")),
    Case("induce/gold-fields", ["xlgen-induce-lexicon", "--src-emb", "{good_vec}", "--tgt-emb", "{good_vec}",
                                "--out-prefix", "{d}/lex", "--gold", "{d}/gold.tsv"],
         ["{d}/gold.tsv:1: expected 'source_word target_word', found 1 fields"], write("gold.tsv", "a\n")),
    # ---- xlgen-spm-encode
    Case("spm-encode/not-a-model", ["xlgen-spm-encode", "--model", "{good_vec}", "--inputs", "{mono_en}",
                                    "--outputs", "{d}/out.spm", "--no-progress"],
         ["{good_vec}: not a SentencePiece model", "pass the model's .model file"]),
    Case("spm-encode/truncated-model", ["xlgen-spm-encode", "--model", "{d}/cut.model", "--inputs", "{mono_en}",
                                        "--outputs", "{d}/out.spm", "--no-progress"],
         ["{d}/cut.model: not a SentencePiece model"], truncated("cut.model", "{fixtures}/mbart.cc25/sentence.bpe.model")),
    Case("spm-encode/mixed-encodings", ["xlgen-spm-encode", "--model", "{fixtures}/mbart.cc25/sentence.bpe.model",
                                        "--inputs", "{d}/mixed.txt", "--outputs", "{d}/out.spm", "--no-progress"],
         ["{d}/mixed.txt:3: not valid UTF-8; re-encode the file as UTF-8"],
         write("mixed.txt", "Grüße aus Köln\n北京欢迎你\n".encode("utf-8") + LATIN1)),
    Case("spm-encode/missing-input", ["xlgen-spm-encode", "--model", "{fixtures}/mbart.cc25/sentence.bpe.model",
                                      "--inputs", "{d}/nope.txt", "--outputs", "{d}/out.spm"],
         ["{d}/nope.txt: input text not found; check the path"]),
    # ---- xlgen-score
    Case("score/unknown-language", ["xlgen-score", "--hyp", "{mono_en}", "--ref", "{mono_en}", "--lang", "xx_YY"],
         ["--lang", "xx_YY"]),
    Case("score/non-utf8-hyp", ["xlgen-score", "--hyp", "{d}/latin1.txt", "--ref", "{mono_en}", "--lang", "en_XX"],
         ["--hyp {d}/latin1.txt: not UTF-8 text; pass a UTF-8 text file"], write("latin1.txt", LATIN1)),
    Case("score/empty-ref", ["xlgen-score", "--hyp", "{mono_en}", "--ref", "{d}/empty.txt", "--lang", "en_XX",
                             "--json", "{d}/scores.json"],
         ["--ref {d}/empty.txt: empty file; pass a file with one sentence per line"], write("empty.txt", "")),
    Case("score/spm-not-a-model", ["xlgen-score", "--hyp", "{mono_en}", "--ref", "{mono_en}", "--lang", "en_XX",
                                   "--spm", "{good_vec}", "--json", "{d}/scores.json"],
         ["{good_vec}: not a SentencePiece model"]),
    # ---- xlgen-langid
    Case("langid/language-missing-from-training", ["xlgen-langid", "--hyp", "{mono_en}", "--src-lang", "en_XX",
                                                   "--tgt-lang", "de_DE", "--backend", "ngram", "--train-ngram",
                                                   "en_XX={mono_en}", "--train-ngram", "zh_CN={mono_zh}", "--json",
                                                   "{d}/lid.json"],
         ["--tgt-lang de_DE: the n-gram identifier knows only en_XX, zh_CN", "train it with --train-ngram de_DE=FILE"]),
    Case("langid/corrupt-ngram-model", ["xlgen-langid", "--hyp", "{mono_en}", "--src-lang", "en_XX", "--tgt-lang",
                                        "de_DE", "--backend", "ngram", "--ngram-model", "{d}/lid.json"],
         ["--ngram-model {d}/lid.json:", "pass a file written by --save-ngram-model"], write("lid.json", '{"labels": ["en_XX"], "n"')),
    # ---- xlgen-xlrs
    Case("xlrs/corrupt-checkpoint", ["xlgen-xlrs", "compute", "--models", "{d}/checkpoint_1_10.pt",
                                     "--parallel-prefix", "{parallel}", "--langs", "en_XX,de_DE", "--out", "{d}/x.json",
                                     "--spm", "{fixtures}/mbart.cc25/sentence.bpe.model", "--no-progress"],
         ["{d}/checkpoint_1_10.pt: not a readable checkpoint", "pass a complete checkpoint"],
         truncated("checkpoint_1_10.pt", "{fixtures}/mbart.cc25/model.pt")),
    Case("xlrs/pair-language-missing-from-langs", ["xlgen-xlrs", "compute", "--models", "{fixtures}/mbart.cc25",
                                                   "--parallel-prefix", "{parallel}", "--langs", "en_XX,de_DE",
                                                   "--pairs", "en_XX-ru_RU", "--out", "{d}/x.json"],
         ["--pairs", "ru_RU"]),
    Case("xlrs/unknown-language", ["xlgen-xlrs", "compute", "--models", "{fixtures}/mbart.cc25", "--parallel-prefix",
                                   "{parallel}", "--langs", "en_XX,xx_YY", "--out", "{d}/x.json"], ["--langs", "xx_YY"]),
    Case("xlrs/spm-not-a-model", ["xlgen-xlrs", "compute", "--models", "{fixtures}/mbart.cc25", "--parallel-prefix",
                                  "{parallel}", "--langs", "en_XX,de_DE", "--spm", "{good_vec}", "--out", "{d}/x.json"],
         ["{good_vec}: not a SentencePiece model"]),
    Case("xlrs/batch-size-0", ["xlgen-xlrs", "compute", "--models", "{fixtures}/mbart.cc25", "--parallel-prefix",
                               "{parallel}", "--langs", "en_XX,de_DE", "--batch-size", "0", "--out", "{d}/x.json"],
         ["argument --batch-size: 0: must be a positive integer"]),
    Case("xlrs/other-architecture", ["xlgen-xlrs", "compute", "--models", "{fixtures}/xlmr.base/model.pt",
                                     "--parallel-prefix", "{parallel}", "--langs", "en_XX,de_DE", "--out",
                                     "{d}/x.json", "--spm", "{fixtures}/mbart.cc25/sentence.bpe.model",
                                     "--no-progress"], ["{fixtures}/xlmr.base/model.pt: not an mBART-family encoder-decoder", "pass mBART checkpoints"]),
    # ---- xlgen-average-checkpoints
    Case("average/last-0", ["xlgen-average-checkpoints", "--dir", "{ckpt_dir}", "--last", "0", "--output",
                            "{d}/avg.pt"], ["argument --last: 0: must be a positive integer"]),
    Case("average/not-a-checkpoint", ["xlgen-average-checkpoints", "--inputs", "{good_vec}", "--output", "{d}/avg.pt"],
         ["{good_vec}: not a checkpoint: empty, or neither a torch.save archive nor a pickle"]),
    Case("average/empty-file", ["xlgen-average-checkpoints", "--inputs", "{d}/empty.pt", "--output", "{d}/avg.pt"],
         ["{d}/empty.pt: not a checkpoint: empty", "pass a checkpoint file written by fairseq-train"], write("empty.pt", b"")),
    Case("average/truncated", ["xlgen-average-checkpoints", "--inputs", "{d}/cut.pt", "--output", "{d}/avg.pt"],
         ["{d}/cut.pt: not a readable checkpoint"], truncated("cut.pt", "{fixtures}/mbart.cc25/model.pt")),
    Case("average/corrupt-pickle", ["xlgen-average-checkpoints", "--inputs", "{d}/bad.pt", "--output", "{d}/avg.pt"],
         ["{d}/bad.pt: not a readable checkpoint"], copied("bad.pt", "{fixtures}/mbart.cc25/model.pt", corrupt_pickle)),
    Case("average/other-architecture", ["xlgen-average-checkpoints", "--inputs", "{fixtures}/mbart.cc25/model.pt",
                                        "{fixtures}/xlmr.base/model.pt", "--output", "{d}/avg.pt"],
         ["{fixtures}/xlmr.base/model.pt: its parameters differ", "average checkpoints of one run"]),
    Case("average/output-directory-missing", ["xlgen-average-checkpoints", "--inputs", "{fixtures}/mbart.cc25/model.pt",
                                              "--output", "{d}/no/avg.pt"],
         ["--output {d}/no/avg.pt: directory {d}/no does not exist; create it first"]),
    Case("average/output-is-directory", ["xlgen-average-checkpoints", "--inputs", "{fixtures}/mbart.cc25/model.pt",
                                         "--output", "{d}/out"],
         ["--output {d}/out: is a directory; name the output file"], write("out/kept", "")),
    # ---- xlgen-language-components
    Case("components/out-is-directory", ["xlgen-language-components", "--model-dir", "{fixtures}/mbart.cc25", "--text",
                                         "en_XX={mono_en}", "--out", "{d}/out"],
         ["--out {d}/out: is a directory; name the output file"], write("out/kept", "")),
    Case("components/k-0", ["xlgen-language-components", "--model-dir", "{fixtures}/mbart.cc25", "--text",
                            "en_XX={mono_en}", "--out", "{d}/c.pt", "--k", "0"],
         ["argument --k: 0: must be a positive integer"]),
    Case("components/dict-not-matching-rows", ["xlgen-language-components", "--model-dir", "{d}/model", "--text",
                                               "en_XX={mono_en}", "--out", "{d}/c.pt", "--no-progress"],
         ["{d}/model/dict.txt: gives", "use the dict.txt shipped with this model.pt"],
         steps(copied("model", "{fixtures}/mbart.cc25"), cut_dict_files("model", "dict.txt"))),
    Case("components/truncated-checkpoint", ["xlgen-language-components", "--model-dir", "{d}/model", "--text",
                                             "en_XX={mono_en}", "--out", "{d}/c.pt", "--no-progress"],
         ["{d}/model/model.pt: not a readable checkpoint"],
         steps(copied("model", "{fixtures}/mbart.cc25"), truncated("model/model.pt", "{fixtures}/mbart.cc25/model.pt"))),
    Case("components/spm-not-a-model", ["xlgen-language-components", "--model-dir", "{d}/model", "--text",
                                        "en_XX={mono_en}", "--out", "{d}/c.pt", "--no-progress"],
         ["{d}/model/sentence.bpe.model: not a SentencePiece model"], copied("model", "{fixtures}/mbart.cc25", spm_as_text)),
    Case("components/unknown-language", ["xlgen-language-components", "--model-dir", "{fixtures}/mbart.cc25",
                                         "--text", "en=" "{mono_en}", "--out", "{d}/c.pt", "--no-progress"],
         ["--text en=...: [en] is not a language of", "use mBART codes such as en_XX"]),
    # ---- xlgen-laft-tsne
    Case("tsne/other-architecture", ["xlgen-laft-tsne", "--checkpoint", "{fixtures}/mbart.cc25/model.pt", "--spm",
                                     "{fixtures}/mbart.cc25/sentence.bpe.model", "--text", "en_XX={mono_en}",
                                     "--out", "{d}/t.png"],
         ["{fixtures}/mbart.cc25/model.pt: not a LAFT checkpoint", "pass a checkpoint of LAFT stage 1 or 2"]),
    Case("tsne/truncated-checkpoint", ["xlgen-laft-tsne", "--checkpoint", "{d}/cut.pt", "--spm",
                                       "{fixtures}/mbart.cc25/sentence.bpe.model", "--text", "en_XX={mono_en}",
                                       "--out", "{d}/t.png"], ["{d}/cut.pt: not a readable checkpoint"],
         truncated("cut.pt", "{fixtures}/mbart.cc25/model.pt")),
    # ---- xlgen-understanding-baselines
    Case("understanding/no-tasks", ["xlgen-understanding-baselines", "--benchmark", "{d}"],
         ["--benchmark {d}: no tasks/pos/", "generate it with xlgen-make-benchmark"]),
    Case("understanding/unknown-src-lang", ["xlgen-understanding-baselines", "--benchmark", "{bench}", "--src-lang", "en"],
         ["--src-lang en: not in the benchmark", "choose one of de_DE, en_XX, ru_RU, zh_CN"]),
    Case("understanding/missing-task-file", ["xlgen-understanding-baselines", "--benchmark", "{d}/bench"],
         ["--benchmark {d}/bench/tasks/nli/en_XX/train.premise: no such file"],
         copied("bench/tasks/pos", "{bench}/tasks/pos")),
    # ---- xlgen-text-to-text
    Case("text-to-text/unequal-fields", ["xlgen-text-to-text", "--task", "nli", "--task-dir", "{d}/nli", "--out",
                                         "{d}/out", "--langs", "ru_RU"],
         ["--task-dir {d}/nli/ru_RU/test.*: fields of unequal length: premise 2, hypothesis 1, label 2 lines"],
         steps(write("nli/ru_RU/test.premise", "Кошка ест .\nСобака спит .\n"),
               write("nli/ru_RU/test.hypothesis", "Кошка не ест .\n"),
               write("nli/ru_RU/test.label", "contradiction\nneutral\n"))),
    Case("text-to-text/empty-field", ["xlgen-text-to-text", "--task", "qa", "--task-dir", "{d}/qa", "--out",
                                      "{d}/out", "--langs", "zh_CN"],
         ["--task-dir {d}/qa/zh_CN/test.context: empty file"],
         steps(write("qa/zh_CN/test.question", "谁睡觉？\n"), write("qa/zh_CN/test.context", ""),
               write("qa/zh_CN/test.answer", "狗\n"))),
    # ---- xlgen-make-benchmark, xlgen-make-fixtures, xlgen-make-pretraining-text, xlgen-userdir
    Case("benchmark/unknown-language", ["xlgen-make-benchmark", "--out", "{d}/bench", "--size", "tiny", "--langs",
                                        "en_XX,xx_YY"], ["--langs", "xx_YY"]),
    Case("fixtures/missing-corpus", ["xlgen-make-fixtures", "--out", "{d}/fx", "--corpus", "{d}/nope.en_XX.txt"],
         ["{d}/nope.en_XX.txt"]),
    Case("pretraining-text/unknown-pair", ["xlgen-make-pretraining-text", "--out", "{d}/text", "--size", "tiny",
                                           "--lines", "3", "--pairs", "en_XX-xx_YY"], ["--pairs en_XX-xx_YY"]),
    Case("userdir/unexpected-argument", ["xlgen-userdir", "--data", "x"], ["unrecognized arguments: --data x"]),
    # ---- mBART finetuning (translation_from_pretrained_bart and our tasks built on it)
    Case("mbart/langs-order", with_option(train(), "--langs", SWAPPED),
         ["--langs cs_CZ,ar_AR", "{fixtures}/mbart.cc25/model.pt was trained with --langs ar_AR,cs_CZ",
          "pass that list in that order"]),
    Case("mbart/langs-length", with_option(train(), "--langs", ",".join(MBART_CC25_LANGS[:-1])),
         ["{tbin}/dict.en_XX.txt: with the 24 --langs and <mask> gives 1865 embedding rows",
          "{fixtures}/mbart.cc25/model.pt has 1866", "pass the --langs it was trained with"]),
    Case("mbart/short-language-codes", with_option(with_option(train(), "--source-lang", "en"), "--target-lang", "de"),
         ["--source-lang en: not a language of --langs, its token [en] would be <unk>", "en_XX, not en"]),
    Case("mbart/missing-arch-flags", without(train(), *MBART_ARCH_FLAGS),
         ["{fixtures}/mbart.cc25/model.pt:", "are not in the model built by these flags",
          "pass --layernorm-embedding --encoder-normalize-before --decoder-normalize-before"]),
    Case("mbart/restore-file-missing", [*with_option(train(), "--finetune-from-model"), "--restore-file",
                                        "{d}/mbart/model.pt"],
         ["--restore-file {d}/mbart/model.pt: no such file (fairseq would train from scratch)"]),
    Case("mbart/finetune-from-model-missing", with_option(train(), "--finetune-from-model", "{d}/nope.pt"),
         ["--finetune-from-model {d}/nope.pt: no such file; check the path"]),
    Case("mbart/truncated-checkpoint", with_option(train(), "--finetune-from-model", "{d}/cut.pt"),
         ["{d}/cut.pt: not a readable checkpoint"], truncated("cut.pt", "{fixtures}/mbart.cc25/model.pt")),
    Case("mbart/corrupt-checkpoint-last", train(), ["{d}/save/checkpoint_last.pt: not a readable checkpoint"],
         copied("save/checkpoint_last.pt", "{fixtures}/mbart.cc25/model.pt", corrupt_pickle)),
    Case("mbart/other-architecture", with_option(train(), "--finetune-from-model", "{fixtures}/xlmr.base/model.pt"),
         ["{fixtures}/xlmr.base/model.pt:", "are not in the model built by these flags"]),
    Case("mbart/truncated-binarized-data", replaced(train(), "{tbin}", "{d}/bin"),
         ["{d}/bin/train.en_XX-de_DE.en_XX.bin: truncated", "binarize train with fairseq-preprocess"],
         steps(copied("bin", "{tbin}"), truncated("bin/train.en_XX-de_DE.en_XX.bin", "{tbin}/train.en_XX-de_DE.en_XX.bin"))),
    Case("mbart/dict-not-matching-rows", replaced(train(), "{tbin}", "{d}/bin"),
         ["{d}/bin/dict.en_XX.txt: with the 25 --langs and <mask> gives 1856 embedding rows",
          "{fixtures}/mbart.cc25/model.pt has 1866", "binarize with the model's dict.txt"],
         steps(copied("bin", "{tbin}"), cut_dict_files("bin", "dict.de_DE.txt", "dict.en_XX.txt"))),
    Case("mbart/truncated-dict", replaced(train(), "{tbin}", "{d}/bin"),
         ["{d}/bin/dict.en_XX.txt: Incorrect dictionary format", "use the pretrained model's dict.txt"],
         steps(copied("bin", "{tbin}"), write("bin/dict.en_XX.txt", f"{W}a 5\n{W}b\n"))),
    Case("mbart/generate-bpe-twice", [*GENERATE, "--bpe", "sentencepiece", "--sentencepiece-model",
                                      "{fixtures}/mbart.cc25/sentence.bpe.model", "--remove-bpe", "sentencepiece"],
         ["--remove-bpe sentencepiece with --bpe sentencepiece decodes twice", "drop --remove-bpe"]),
    Case("mbart/generate-langs-order", with_option(GENERATE, "--langs", SWAPPED),
         ["--langs cs_CZ,ar_AR", "the checkpoint was trained with --langs ar_AR,cs_CZ"]),
    # ---- code_switch_restore
    Case("csr/lexicon-missing", CSR, ["{d}/lex.src2tgt.tsv: missing", "xlgen-induce-lexicon --direction both"]),
    Case("csr/lexicon-fields", CSR, ["{d}/lex.src2tgt.tsv:2: expected 'query<TAB>translation", "xlgen-induce-lexicon"],
         steps(lexicon_files, write("lex.src2tgt.tsv", f"{W}a\t{W}b\t0.5\t1\n{W}a\n"))),
    Case("csr/lexicon-non-utf8", CSR, ["{d}/lex.tgt2src.tsv:1: not valid UTF-8"],
         steps(lexicon_files, write("lex.tgt2src.tsv", LATIN1))),
    Case("csr/switch-ratio", [*CSR, "--switch-ratio", "1.5"], ["--switch-ratio 1.5 must lie in [0, 1]"], lexicon_files),
    Case("csr/lexicon-unit", [*CSR, "--lexicon-unit", "words", "--sentencepiece-model",
                              "{fixtures}/mbart.cc25/sentence.bpe.model"],
         ["{d}/lex.json: the lexicon was built with --lexicon-unit pieces", "pass --lexicon-unit pieces"],
         steps(lexicon_files, write("lex.json", '{"lexicon_unit": "pieces"}'))),
    # ---- multi_source_summarization, language_adversarial_summarization
    Case("msum/language-missing-from-langs", [*MSUM, "--train-langs", "en_XX,xx_YY"],
         ["--train-langs xx_YY: not in --langs", "e.g. en_XX"], MSUM_DATA),
    Case("msum/missing-binarized-data", [*MSUM, "--train-langs", "ru_RU"],
         ["{d}/msum/ru_RU/valid.source-target.source.bin: missing", "prepare_monolingual_task.sh"], MSUM_DATA),
    Case("msum/missing-dict", [*MSUM, "--train-langs", "en_XX"],
         ["{d}/msum/dict.txt: missing", "prepare_monolingual_task.sh"]),
    Case("adversarial/language-missing-from-langs",
         [*with_option(MSUM, "--task", "language_adversarial_summarization"), "--train-langs", "en_XX",
          "--adversarial-data", "{d}/mono", "--adversarial-langs", "zh"], ["--adversarial-langs zh: not in --langs"],
         MSUM_DATA),
    Case("adversarial/probe-valid-split-missing",  # the probe runs at validation: it is read at setup
         [*without(with_option(MSUM, "--task", "language_adversarial_summarization"), "--disable-validation"),
          "--train-langs", "en_XX",
          "--adversarial-data", "{d}/mono", "--adversarial-langs", "zh_CN"],
         ["{d}/mono/en_XX/valid", "prepare_denoising.sh", "--probe-sentences 0 turns it off"], MSUM_DATA),
    # ---- mbart_laft
    Case("laft/components-truncated", with_option(LAFT, "--language-components", "{d}/c.pt"),
         ["{d}/c.pt: not a readable language-components file", "re-run xlgen-language-components"],
         truncated("c.pt", "{comp}")),
    Case("laft/components-language-missing", with_option(LAFT, "--laft-langs", "en_XX,fr_XX"),
         ["{comp}: no components for fr_XX", "estimate them with xlgen-language-components --text fr_XX=FILE"]),
    Case("laft/k-0", [*LAFT, "--laft-k", "0"], ["--laft-k 0: must be at least 1"]),
    Case("laft/stage-3", with_option(LAFT, "--laft-stage", "3"), ["--laft-stage 3: must be 1 or 2"]),
    # ---- sga_translation, xlmr_sga
    Case("sga/dict-missing", SGA, ["{d}/sga/dict.de_DE.txt: missing", "data_prep/prepare_sga.sh"]),
    Case("sga/lang-pairs", [*SGA, "--lang-pairs", "de_DE"], ["--lang-pairs de_DE: write pairs as src-tgt"], SGA_DATA),
    Case("sga/pretrained-missing", with_option(SGA, "--pretrained-xlmr-checkpoint", "{d}/xlmr"),
         ["{d}/xlmr: missing; --pretrained-xlmr-checkpoint must name"], SGA_DATA),
    Case("sga/dict-not-matching-model", replaced(SGA, "{d}/sga", "{d}/bin"),
         ["{fixtures}/xlmr.base: its dictionary (1841 symbols) differs from the data's (1831)",
          "binarize with the model's dict.txt"],
         steps(copied("bin", "{tbin}"), cut_dict_files("bin", "dict.de_DE.txt", "dict.en_XX.txt"))),
    Case("sga/prompt-length-0", with_option(SGA, "--prompt-length", "0"), ["--prompt-length 0: must be at least 1"],
         SGA_DATA),
    Case("sga/lang-pairs-two-targets", [*SGA, "--lang-pairs", "de_DE-en_XX,de_DE-ru_RU"],
         ["--lang-pairs de_DE-en_XX,de_DE-ru_RU: target languages en_XX,ru_RU behind one shared prompt set"], SGA_DATA),
]


def snapshot(directory):
    """``{relative path: (size, mtime)}`` of every file below ``directory``, ``None`` for each directory
    (an empty ``--save-dir`` left behind counts as written: fairseq-train creates it after the setup, patch)."""
    found = {}
    for root, dirs, names in os.walk(directory):
        found.update((os.path.relpath(os.path.join(root, name), directory), None) for name in dirs)
        for name in names:
            path = os.path.join(root, name)
            stat = os.stat(path)
            found[os.path.relpath(path, directory)] = (stat.st_size, stat.st_mtime_ns)
    return found


def context(benchmark_dir, pretrained_dir, translation_bin, laft_components, shared):
    """Placeholders of the table: fixtures and shared good inputs (read by many cases, written by none)."""
    import sentencepiece

    mono_en, mono_zh = (os.path.join(benchmark_dir, "mono", f"{lang}.txt") for lang in ("en_XX", "zh_CN"))
    good_vec, pieces, ckpt_dir = shared / "good.vec", shared / "pieces.txt", shared / "checkpoints"
    good_vec.write_text(GOOD_VEC, encoding="utf-8")
    sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(pretrained_dir, "mbart.cc25", "sentence.bpe.model"))
    with open(mono_en, encoding="utf-8") as f:
        pieces.write_text("".join(" ".join(sp.encode(line.strip(), out_type=str)) + "\n" for line in f), encoding="utf-8")
    ckpt_dir.mkdir()
    for name in ("checkpoint_1_10.pt", "checkpoint_1_20.pt"):
        shutil.copy(os.path.join(pretrained_dir, "mbart.cc25", "model.pt"), ckpt_dir / name)
    return {"fixtures": pretrained_dir, "bench": benchmark_dir, "tbin": translation_bin, "comp": laft_components, "mono_en": mono_en, "mono_zh": mono_zh,
            "parallel": os.path.join(benchmark_dir, "parallel", "test.de_DE-en_XX"), "good_vec": str(good_vec),
            "pieces": str(pieces), "ckpt_dir": str(ckpt_dir), "userdir": os.path.join(REPO, "fairseq_xlgen")}


def run_cases(cases, root, ctx):
    """Set up ``cases`` below ``root`` and run them in one runner process: ``{id: (outcome, values, files)}``
    with the runner's ``{"rc", "stderr", "seconds"}``, the placeholders and the case directory's files before."""
    runs, prepared = [], {}
    for case in cases:
        d = root / case.id.replace("/", "__")
        d.mkdir()
        values = {**ctx, "d": str(d)}
        if case.setup:
            case.setup(str(d), values)
        prepared[case.id] = (values, snapshot(d))
        runs.append({"id": case.id, "argv": [a.format(**values) for a in case.argv], "cwd": str(d)})
    (root / "cases.json").write_text(json.dumps(runs), encoding="utf-8")
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "bad_input_runner.py"),
                    root / "cases.json", root / "results.json"], env=tool_env(), check=True, timeout=1800)
    outcome = json.loads((root / "results.json").read_text(encoding="utf-8"))
    return {case_id: (outcome[case_id], *prepared[case_id]) for case_id in prepared}


@pytest.fixture(scope="module")
def shared_context(benchmark_dir, pretrained_dir, translation_bin, laft_components, tmp_path_factory):
    """The directory of the shared good inputs, the placeholders, and the directory's files."""
    shared = tmp_path_factory.mktemp("bad_inputs_shared")
    ctx = context(benchmark_dir, pretrained_dir, translation_bin, laft_components, shared)
    return shared, ctx, snapshot(shared)


@pytest.fixture(scope="module")
def results(request, shared_context, tmp_path_factory):
    """The outcome of every case this session selected (e.g. not the slow ones under -m 'not slow')."""
    import time

    selected = {item.callspec.params["case"].id for item in request.session.items
                if getattr(item, "originalname", "") == "test_bad_input_is_one_line_naming_what_to_fix"}
    started = time.perf_counter()
    outcome = run_cases([case for case in CASES if case.id in selected], tmp_path_factory.mktemp("bad_inputs"),
                        shared_context[1])
    print(f"\n{len(outcome)} bad-input cases ran in {time.perf_counter() - started:.1f}s")
    return outcome


def is_fairseq_launch(case):
    return case.argv[0].startswith("fairseq-")


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id, marks=[pytest.mark.slow] if is_fairseq_launch(case)
                                               else []) for case in CASES])
def test_bad_input_is_one_line_naming_what_to_fix(results, case):
    outcome, values, files_before = results[case.id]
    stderr = outcome["stderr"]
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    assert outcome["rc"] != 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    for fragment in case.expect:
        assert fragment.format(**values) in last, f"{fragment.format(**values)!r} not in the last line {last!r}"
    assert snapshot(values["d"]) == files_before  # nothing created, nothing changed, no temporaries


def test_shared_inputs_are_unchanged(results, shared_context):
    """Run after the cases (same module): no case wrote into the inputs they share."""
    shared, _, files = shared_context
    assert snapshot(shared) == files


def test_table_covers_every_console_script():
    assert {case.argv[0] for case in CASES} >= set(console_scripts())
    assert len(CASES) >= 40


@pytest.mark.slow
def test_runner_matches_the_console_scripts(shared_context, tmp_path):
    """The runner's exit status and last stderr line equal those of the real console scripts."""
    cases = [case for case in CASES if case.id in ("average/last-0", "mbart/langs-order")]
    (tmp_path / "runner").mkdir()
    ran = run_cases(cases, tmp_path / "runner", shared_context[1])
    for case in cases:
        (outcome, values, _), d = ran[case.id], tmp_path / case.id.replace("/", "__")
        d.mkdir()
        proc = subprocess.run([a.format(**{**values, "d": str(d)}) for a in case.argv], capture_output=True,
                              text=True, env=tool_env(), cwd=d, timeout=600)
        assert proc.returncode == outcome["rc"]
        assert proc.stderr.strip().splitlines()[-1] == outcome["stderr"].strip().splitlines()[-1]
