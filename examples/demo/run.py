"""`make demo`: zero-shot cross-lingual summarization on the synthetic benchmark.

The tiny mBART is finetuned on en_XX summarization only, then asked to summarize de_DE, ru_RU
(Cyrillic) and zh_CN (Han, no spaces) documents in their own language: languages it has no
task data for. The backbone is the testbed's (fixtures/testbed-small: pretrained on code-switched text,
its encoder partly aligned across languages and its decoder reading the encoder). Three systems with
the same budget of training instances and updates:

* **mBART (full)**: the ordinary finetune on en_XX, the baseline;
* **multi-source** (Li & Murray, paper 002 §6): the same budget split between en_XX and de_DE,
  which the paper finds cuts accidental translation (outputs in the wrong language);
* **mBART (enc)** (paper 001's encoder-only baseline, ``--arch mbart_laft_tiny --laft-variant enc``):
  the finetune on en_XX with the decoder and the embeddings frozen, so that the decoder keeps
  writing the language its ``[L]`` token asks for.

Per target language the table gives SP-ROUGE-L (ROUGE-L over SentencePiece pieces: word ROUGE
is meaningless for unspaced zh_CN), the wrong-language rate (character n-gram language ID
trained on the benchmark's monolingual text) and XLRS (paper 002 §4: cosine similarity of the
mean encoder states of parallel en_XX / target sentences; higher = more language-agnostic).
de_DE is zero-shot for the baseline only: the multi-source run trains on it.

    python examples/demo/run.py WORK_DIR [SIZE]       (SIZE small, default, or tiny: a smoke run)

Every stage is skipped when its output exists (an interrupted finetune resumes from its
checkpoint_last.pt); fairseq's logs go to WORK_DIR/logs/. Each tool runs on one thread, two at a
time, so that a rerun on the same machine prints the same table.
"""
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from fairseq_xlgen.testbed.runner import (REPO, USER_DIR, UpdateCounter, benchmark_and_fixtures, done,
                                          language_identifier, run, run_and_report)

SOURCE, SECOND, TARGETS = "en_XX", "de_DE", ("de_DE", "ru_RU", "zh_CN")
LANGS = (SOURCE,) + TARGETS
SYSTEMS = {"mbart_full": (SOURCE,), "multi_source": (SOURCE, SECOND), "mbart_enc": (SOURCE,)}
LABELS = {"mbart_full": "mBART (full)", "multi_source": f"multi-source ({SOURCE}+{SECOND})",
          "mbart_enc": "mBART (enc): frozen decoder"}
#: fairseq-train's --arch flags of each system
ARCHS = {"mbart_full": ["--arch", "mbart_tiny"], "multi_source": ["--arch", "mbart_tiny"],
         "mbart_enc": ["--arch", "mbart_laft_tiny", "--laft-variant", "enc"]}
# instances of the training budget, updates, warmup, output length limit (pieces); the pretrained
# fixtures: a shipped set (fixtures/NAME) or xlgen-make-fixtures flags (a smoke run)
SETTINGS = {"small": dict(budget=2000, updates=800, warmup=100, max_len=60, fixtures="testbed-small"),
            "tiny": dict(budget=200, updates=40, warmup=10, max_len=20, fixtures=["--vocab-size", "2000"])}


class Demo:
    def __init__(self, work, size):
        self.work, self.size, self.cfg = os.path.abspath(work), size, SETTINGS[size]
        self.bench = os.path.join(self.work, "benchmark")
        self.model = os.path.join(self.work, "pretrained", "mbart.cc25")
        self.data = os.path.join(self.work, "data", "summarization")
        self.parallel = os.path.join(self.work, "data", "parallel")
        self.logs = os.path.join(self.work, "logs")
        self.results = os.path.join(self.work, "results")

    def log(self, name):
        return os.path.join(self.logs, name + ".log")

    def prepare(self):
        """Benchmark, tiny mbart.cc25 (the shipped testbed one at size small), binarized data."""
        steps = tqdm(total=3 + len(LANGS), desc="prepare", unit="step", leave=True)
        benchmark_and_fixtures(self.bench, os.path.dirname(self.model), self.size, self.cfg["fixtures"],
                               self.log("fixtures"), LANGS)
        steps.update()
        for lang in LANGS:
            if not os.path.isfile(os.path.join(self.data, lang, ".done")):
                run(["bash", os.path.join(REPO, "data_prep", "prepare_monolingual_task.sh"),
                     os.path.join(self.bench, "tasks", "summarization"), lang, self.model, self.data],
                    self.log("binarize"))
            steps.update()
        os.makedirs(self.parallel, exist_ok=True)
        for lang in LANGS:  # XLRS sentences: the multi-way parallel valid split, as pieces
            pair = "-".join(sorted((SOURCE, lang))) if lang != SOURCE else f"{SECOND}-{SOURCE}"
            out = os.path.join(self.parallel, f"valid.spm.{lang}")
            if not done(out):
                run(["xlgen-spm-encode", "--model", os.path.join(self.model, "sentence.bpe.model"), "--no-progress",
                     "--inputs", os.path.join(self.bench, "parallel", f"valid.{pair}.{lang}"), "--outputs", out],
                    self.log("binarize"))
        steps.update()
        os.makedirs(self.results, exist_ok=True)
        language_identifier(self.bench, LANGS, SOURCE, self.language_id_model(), self.log("langid"))
        steps.update()
        steps.close()

    def language_id_model(self):
        return os.path.join(self.results, "ngram-lid.json")

    def finetune(self, system, position=0):
        save = os.path.join(self.work, "checkpoints", system)
        if done(os.path.join(save, "checkpoint_last.pt")) and os.path.isfile(os.path.join(save, ".done")):
            return
        from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS, MBART_CC25_LANGS

        bar = tqdm(total=self.cfg["updates"], desc=f"finetune {LABELS[system]}", unit="update", position=position)
        start = time.time()
        run(["fairseq-train", self.data, "--user-dir", USER_DIR,
             "--task", "multi_source_summarization", "--langs", ",".join(MBART_CC25_LANGS),
             "--train-langs", ",".join(SYSTEMS[system]), "--train-budget", str(self.cfg["budget"]),
             "--eval-lang", SOURCE, *ARCHS[system], *MBART_ARCH_FLAGS,
             "--finetune-from-model", os.path.join(self.model, "model.pt"),
             "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.2",
             "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--lr", "1e-3", "--lr-scheduler", "inverse_sqrt",
             "--warmup-updates", str(self.cfg["warmup"]), "--dropout", "0.1", "--attention-dropout", "0.1",
             "--max-tokens", "2048", "--max-update", str(self.cfg["updates"]), "--disable-validation",
             "--save-dir", save, "--no-epoch-checkpoints", "--save-interval-updates", str(self.cfg["updates"] // 4),
             "--keep-interval-updates", "1", "--log-format", "json", "--log-interval", "10",
             "--seed", "1", "--num-workers", "0"], self.log(f"train.{system}"), UpdateCounter(bar).progress())
        bar.close()
        with open(os.path.join(save, ".done"), "w") as f:
            json.dump({"train_seconds": round(time.time() - start, 1)}, f)

    def evaluate(self):
        jobs = [(s, lang) for s in SYSTEMS for lang in TARGETS]
        bar = tqdm(total=len(jobs), desc="generate + score", unit="run")
        with ThreadPoolExecutor(2) as pool:
            for _ in pool.map(lambda job: self.evaluate_one(*job), jobs):
                bar.update()
        bar.close()
        xlrs = os.path.join(self.results, "xlrs.json")
        if not done(xlrs):
            run(["xlgen-xlrs", "compute", "--models", self.model,
                 *(os.path.join(self.work, "checkpoints", s, "checkpoint_last.pt") for s in SYSTEMS),
                 "--parallel-prefix", os.path.join(self.parallel, "valid.spm"), "--langs", ",".join(LANGS),
                 "--no-progress", "--out", xlrs], self.log("xlrs"))

    def evaluate_one(self, system, lang):
        """fairseq-generate on LANG's test split, then SP-ROUGE and language ID of the outputs."""
        from fairseq_xlgen.pretrained import MBART_CC25_LANGS

        out = os.path.join(self.results, system, f"test.{lang}")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if not done(out + ".txt"):
            run(["fairseq-generate", self.data, "--user-dir", USER_DIR,
                 "--task", "multi_source_summarization", "--langs", ",".join(MBART_CC25_LANGS),
                 "--train-langs", SOURCE, "--eval-lang", lang,
                 "--path", os.path.join(self.work, "checkpoints", system, "checkpoint_last.pt"),
                 "--gen-subset", "test", "--beam", "4", "--max-len-b", str(self.cfg["max_len"]), "--batch-size", "64",
                 "--remove-bpe", "sentencepiece", "--results-path", out + ".gen"], self.log(f"generate.{system}.{lang}"))
            os.replace(os.path.join(out + ".gen", "generate-test.txt"), out + ".txt")
            os.rmdir(out + ".gen")
        ref = os.path.join(self.bench, "tasks", "summarization", lang, "test.target")
        if not done(out + ".scores.json"):
            run(["xlgen-score", "--hyp", out + ".txt", "--ref", ref, "--lang", lang, "--metrics", "sp_rouge",
                 "--spm", os.path.join(self.model, "sentence.bpe.model"), "--json", out + ".scores.json"],
                self.log(f"score.{system}.{lang}"))
        if not done(out + ".langid.json"):
            run(["xlgen-langid", "--hyp", out + ".txt", "--src-lang", SOURCE, "--tgt-lang", lang,
                 "--backend", "ngram", "--ngram-model", self.language_id_model(), "--json", out + ".langid.json"],
                self.log(f"langid.{system}.{lang}"))

    def summarize(self):
        from summary import write_summary  # beside this script

        return write_summary(self.work, self.results, SYSTEMS, LABELS, SOURCE, TARGETS)


def main(argv):
    if len(argv) not in (1, 2) or (len(argv) == 2 and argv[1] not in SETTINGS):
        print(f"usage: {sys.argv[0]} WORK_DIR [{'|'.join(SETTINGS)}]", file=sys.stderr)
        return 2
    demo = Demo(argv[0], argv[1] if len(argv) == 2 else "small")

    def body():
        demo.prepare()
        with ThreadPoolExecutor(2) as pool:  # the finetunes two at a time, one core each
            list(pool.map(demo.finetune, SYSTEMS, range(len(SYSTEMS))))
        demo.evaluate()
        return demo.summarize()

    return run_and_report(body, demo.logs)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
