"""`make compare`: the four methods of the plugin side by side on one zero-shot task.

The benchmark's title/question task (a sentence -> a who/what question about it) is trained in
en_XX only and evaluated in de_DE, ru_RU (Cyrillic) and zh_CN (Han, no spaces), languages without
task data, and in en_XX (the trained language, for reference). Every system gets the same budget
of training instances (``budget``) and of updates (``updates``: a method's extra stage included):

* mBART (full), mBART (enc): ordinary finetunes of the tiny mBART (all weights; encoder only);
* CSR (paper 004): stage 1 restores code-switched text, en_XX task text switched into each target
  language and each target language's monolingual text switched into en_XX, with en<->X lexicons
  induced from monolingual text (word2vec -> VecMap -> CSLS); stage 2 finetunes on the task;
* multi-source (paper 002): the budget split between en_XX and de_DE task data;
* LAFT (paper 001): language components, stage 1 text infilling on monolingual text, stage 2 the
  task module alone;
* SGA (paper 003): frozen tiny XLM-R with prefix prompts, Mask-Predict alignment + CTC denoiser
  (free generation), decoded to a fixed point; and the AR baseline of the same backbone (XLM-R
  encoder + decoder, all trained, beam search);
* combinations no paper measured: multi-source + CSR (stage 2 on en_XX + de_DE from the CSR
  stage 1) and multi-source + LAFT (stage 2 on en_XX + de_DE from the LAFT stage 1).

Per system and language: SP-ROUGE-L (and word ROUGE-L), the wrong-language rate, trainable
parameters, training time and decoding speed -> WORK/results/compare.{md,json,png}. The outputs
are scored in this process (what ``xlgen-score --metrics rouge,sp_rouge`` and ``xlgen-langid
--backend ngram`` compute, without two tool start-ups per output).

    python examples/compare/run.py WORK_DIR [SIZE] [--systems a,b,...]     (SIZE small | tiny)

Each tool runs on one thread, two jobs at a time; finished jobs are skipped on a rerun and an
interrupted fairseq-train resumes from its checkpoint_last.pt. fairseq's logs: WORK_DIR/logs/.
"""
import argparse
import json
import os
import re
import sys
import time

from tqdm import tqdm

from fairseq_xlgen.file_io import atomic_output

from fairseq_xlgen.testbed.runner import (REPO, SHIPPED_SETS, USER_DIR, UpdateCounter, benchmark_and_fixtures,
                                          done, language_identifier, run, run_and_report, run_graph)

SOURCE, SECOND, TARGETS = "en_XX", "de_DE", ("de_DE", "ru_RU", "zh_CN")
LANGS = (SOURCE,) + TARGETS
TASK = "title"
#: fairseq-train's count of the model's parameters and of those that train
PARAMETERS = re.compile(r"num\. shared model params: ([\d,]+) \(num\. trained: ([\d,]+)\)")
# instances, updates (all stages of a system together), share of them in a method's extra stage,
# warmup, output limit (pieces), SGA prompt length and learning rate; the pretrained fixtures: a shipped
# set (fixtures/NAME) or xlgen-make-fixtures flags
SETTINGS = {
    "small": dict(budget=2000, updates=1000, stage1_share=0.2, warmup=100, max_len=30, sga_prompt=32, sga_lr=3e-3,
                  fixtures="benchmark-small", w2v=["--dim", "100", "--epochs", "20", "--min-count", "3"]),
    "tiny": dict(budget=200, updates=40, stage1_share=0.25, warmup=10, max_len=20, sga_prompt=8, sga_lr=1e-2,
                 fixtures=["--vocab-size", "2000"], w2v=["--dim", "32", "--epochs", "5", "--min-count", "2"]),
}


class System:
    """One row: its label, task languages, the recipe it follows, its backbone (mbart or xlmr) and the
    shared extra stage (csr_stage1, laft_stage1) it continues from."""

    def __init__(self, label, train_langs, recipe, model="mbart", stage1=None):
        self.label, self.train_langs, self.recipe = label, train_langs, recipe
        self.model, self.stage1 = model, stage1


SYSTEMS = {
    "mbart_full": System("mBART (full)", (SOURCE,), "examples/laft (baseline full)"),
    "mbart_enc": System("mBART (enc)", (SOURCE,), "examples/laft (baseline enc)"),
    "csr": System("CSR", (SOURCE,), "examples/csr", stage1="csr_stage1"),
    "multi_source": System(f"multi-source ({SOURCE}+{SECOND})", (SOURCE, SECOND), "examples/multisource"),
    "laft": System("LAFT", (SOURCE,), "examples/laft", stage1="laft_stage1"),
    "sga": System("SGA (frozen XLM-R)", (SOURCE,), "examples/sga", model="xlmr"),
    "xlmr_ar": System("XLM-R AR (AT init.)", (SOURCE,), "examples/sga (AR baseline)", model="xlmr"),
    "multi_source_csr": System("multi-source + CSR", (SOURCE, SECOND), "examples/csr + examples/multisource",
                               stage1="csr_stage1"),
    "multi_source_laft": System("multi-source + LAFT", (SOURCE, SECOND), "examples/laft + examples/multisource",
                                stage1="laft_stage1"),
}
DROPOUT = ["--dropout", "0.1", "--attention-dropout", "0.1"]  # SGA: the frozen backbone keeps its checkpoint's
TRAINING = ["--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--lr-scheduler", "inverse_sqrt", "--max-tokens",
            "2048", "--disable-validation", "--no-epoch-checkpoints", "--keep-interval-updates", "1",
            "--log-format", "json", "--log-interval", "10", "--num-workers", "0"]


class Compare:
    def __init__(self, work, size, systems, fixtures=None, seed=1):
        from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS, MBART_CC25_LANGS, MBART_TEXT_INFILLING_FLAGS

        self.work, self.size, self.cfg, self.systems = os.path.abspath(work), size, SETTINGS[size], systems
        self.fixtures, self.seed = fixtures or self.cfg["fixtures"], seed
        self.cc25, self.arch_flags = ",".join(MBART_CC25_LANGS), list(MBART_ARCH_FLAGS)
        self.text_infilling = list(MBART_TEXT_INFILLING_FLAGS)
        self.bench, self.mbart = self.path("benchmark"), self.path("pretrained", "mbart.cc25")
        self.xlmr = self.path("pretrained", "xlmr.base")
        self.stage1_updates = max(1, round(self.cfg["updates"] * self.cfg["stage1_share"]))

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def log(self, name):
        return self.path("logs", name + ".log")

    # ---------------------------------------------------------------- data
    def prepare(self):
        """Benchmark, fixtures, the task in mBART and XLM-R units, monolingual data, language ID."""
        plan = self.training_plan()
        steps = [("benchmark and tiny pretrained models", lambda: benchmark_and_fixtures(
                     self.bench, self.path("pretrained"), self.size, self.fixtures, self.log("prepare"),
                     LANGS)),
                 ("title task in mBART units", lambda: self.binarize_task(self.mbart, "title-mbart")),
                 ("language identifier", lambda: language_identifier(
                     self.bench, LANGS, SOURCE, self.path("results", "ngram-lid.json"), self.log("prepare")))]
        if any(SYSTEMS[s].model == "xlmr" for s in self.systems):
            steps.append(("title task in XLM-R units", lambda: self.binarize_task(self.xlmr, "title-xlmr")))
        if "laft_stage1" in plan:
            steps.append(("monolingual text for text infilling", self.denoising_data))
        if "csr_stage1" in plan:
            steps.append(("code-switching text", self.code_switching_data))
        with tqdm(steps, desc="prepare", unit="step") as bar:
            for desc, step in bar:
                bar.set_postfix_str(desc)
                step()

    def binarize_task(self, model, name):
        for lang in LANGS:
            if not os.path.isfile(self.path("data", name, lang, ".done")):
                run(["bash", os.path.join(REPO, "data_prep", "prepare_monolingual_task.sh"),
                     os.path.join(self.bench, "tasks", TASK), lang, model, self.path("data", name)],
                    self.log("prepare"))

    def denoising_data(self):
        for lang in LANGS:
            if not done(self.path("data", "monolingual", lang, "train.bin")):
                run(["bash", os.path.join(REPO, "data_prep", "prepare_denoising.sh"),
                     os.path.join(self.bench, "mono", f"{lang}.txt"), lang, self.mbart,
                     self.path("data", "monolingual")],
                    self.log("prepare"))

    def code_switching_data(self):
        """Pieces of each language's monolingual text (lexicon induction) and the stage-1 pairs:
        en_XX task text (the budget's sources and targets) on one side, X monolingual text on the other."""
        spm, text = self.path("data", "mono-spm"), self.path("data", "csr-text")
        if os.path.isfile(self.path("data", "csr", ".done")):
            return
        for lang in LANGS:
            if not done(os.path.join(spm, f"train.{lang}")):
                run(["xlgen-spm-encode", "--model", os.path.join(self.mbart, "sentence.bpe.model"), "--no-progress",
                     "--inputs", os.path.join(self.bench, "mono", f"{lang}.txt"),
                     "--outputs", os.path.join(spm, f"train.{lang}")], self.log("prepare"))
        task = os.path.join(self.bench, "tasks", TASK, SOURCE)
        with open(os.path.join(task, "train.source"), encoding="utf-8") as f:
            sources = f.readlines()[:self.cfg["budget"]]
        with open(os.path.join(task, "train.target"), encoding="utf-8") as f:
            en_text = sources + f.readlines()[:self.cfg["budget"]]
        held_out = len(en_text) // 10  # a valid split, which fairseq-train loads even with --disable-validation
        for lang in TARGETS:
            os.makedirs(os.path.join(text, f"{SOURCE}-{lang}"), exist_ok=True)
            with open(os.path.join(self.bench, "mono", f"{lang}.txt"), encoding="utf-8") as f:
                mono = f.readlines()
            for split, lines in (("train", {SOURCE: en_text[held_out:], lang: mono[held_out:]}),
                                 ("valid", {SOURCE: en_text[:held_out], lang: mono[:held_out]})):
                for code, text_lines in lines.items():
                    with atomic_output(os.path.join(text, f"{SOURCE}-{lang}", f"{split}.{code}")) as f:
                        f.writelines(text_lines)
        run(["bash", os.path.join(REPO, "data_prep", "prepare_translation_pairs.sh"), text, self.mbart,
             self.path("data", "csr"), *(f"{SOURCE}-{lang}" for lang in TARGETS)], self.log("prepare"))
        open(self.path("data", "csr", ".done"), "w").close()

    # ---------------------------------------------------------------- jobs
    def training_plan(self):
        """{training run: updates}: the shared extra stages the systems need, then the systems."""
        stage1 = [SYSTEMS[s].stage1 for s in self.systems if SYSTEMS[s].stage1]
        plan = {name: self.stage1_updates for name in dict.fromkeys(stage1)}
        plan.update({s: self.cfg["updates"] - (self.stage1_updates if SYSTEMS[s].stage1 else 0) for s in self.systems})
        return plan

    def jobs(self, counter):
        """{name: (dependencies, function)} of every training and evaluation job, longest chains first."""
        jobs, plan = {}, self.training_plan()
        if "csr_stage1" in plan:
            for lang in TARGETS:
                jobs[f"lexicon_{lang}"] = ((), lambda lang=lang: self.lexicon(lang))
            jobs["csr_stage1"] = ([f"lexicon_{lang}" for lang in TARGETS], lambda: self.train(
                "csr_stage1", plan["csr_stage1"], counter, self.csr_stage1_args()))
        if "laft_stage1" in plan:
            jobs["components"] = ((), self.components)
            jobs["laft_stage1"] = (["components"], lambda: self.train(
                "laft_stage1", plan["laft_stage1"], counter, self.laft_stage1_args()))
        for name in self.systems:
            deps = [SYSTEMS[name].stage1] if SYSTEMS[name].stage1 else []
            jobs[name] = (deps, lambda name=name: self.train(name, plan[name], counter, self.system_args(name)))
        for name in self.systems:
            for lang in LANGS:
                jobs[f"generate_{name}_{lang}"] = ([name], lambda name=name, lang=lang: self.generate(name, lang))
        return jobs

    def train(self, name, updates, counter, args):
        save = self.path("checkpoints", name)
        if os.path.isfile(os.path.join(save, ".done")):
            counter.skip(updates)
            return
        start = time.time()
        run(["fairseq-train", *args, "--user-dir", USER_DIR, "--seed", str(self.seed), "--max-update", str(updates),
             "--save-dir", save, "--save-interval-updates", str(max(1, updates // 4))], self.log(f"train.{name}"),
            counter.progress())
        with open(self.log(f"train.{name}"), encoding="utf-8") as f:
            total, trained = PARAMETERS.findall(f.read())[-1]
        with open(os.path.join(save, ".done"), "w") as f:
            json.dump({"train_seconds": round(time.time() - start, 1), "updates": updates,
                       "parameters": int(total.replace(",", "")), "trainable": int(trained.replace(",", ""))}, f)

    def finetune_args(self):
        """What every row but SGA shares: label-smoothed cross-entropy, lr 1e-3, dropout 0.1."""
        return ["--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1", "--lr", "1e-3",
                "--warmup-updates", str(self.cfg["warmup"]), *DROPOUT, *TRAINING]

    def system_args(self, name):
        system = SYSTEMS[name]
        if system.model == "mbart":
            init = (self.path("checkpoints", system.stage1, "checkpoint_last.pt") if system.stage1
                    else os.path.join(self.mbart, "model.pt"))
            arch = (["--arch", "mbart_laft_tiny", "--laft-variant", "enc"] if name == "mbart_enc" else
                    ["--arch", "mbart_laft_tiny", "--laft-stage", "2", "--laft-langs", ",".join(LANGS)]
                    if system.stage1 == "laft_stage1" else ["--arch", "mbart_tiny"])
            return [self.path("data", "title-mbart"), "--task", "multi_source_summarization", "--langs", self.cc25,
                    "--train-langs", ",".join(system.train_langs), "--train-budget", str(self.cfg["budget"]),
                    "--eval-lang", SOURCE, *arch, *self.arch_flags, "--finetune-from-model", init,
                    *self.finetune_args()]
        xlmr = [self.path("data", "title-xlmr"), "--task", "sga_translation", "--source-lang", SOURCE,
                "--target-lang", SOURCE, "--pretrained-xlmr-checkpoint", self.xlmr]
        if name == "sga":
            return [*xlmr, "--arch", "xlmr_sga_tiny", "--alignment", "mask_predict", "--max-target-length", "64",
                    "--prompt-length", str(self.cfg["sga_prompt"]), "--criterion", "sga_ctc",
                    "--lr", str(self.cfg["sga_lr"]), "--warmup-updates", str(self.cfg["warmup"]), *TRAINING]
        if name == "xlmr_ar":
            from fairseq_xlgen.pretrained import xlmr_encoder_decoder_size_flags

            return [*xlmr, "--arch", "xlmr_transformer_tiny", *xlmr_encoder_decoder_size_flags(self.xlmr),
                    *self.finetune_args()]
        raise ValueError(name)

    def lexicon(self, lang):
        out = self.path("lexicons", f"{SOURCE}-{lang}")
        if done(os.path.join(out, "lexicon.json")):
            return
        run(["bash", os.path.join(REPO, "data_prep", "build_lexicon.sh"), self.path("data", "mono-spm"), SOURCE, lang,
             self.mbart, out], self.log(f"lexicon.{lang}"),
            # code_switch_restore takes one unit for all its --lang-pairs, and this table was measured with
            # pieces (build_lexicon.sh's default for zh_CN is now words: examples/compare/README.md)
            env={"W2V_ARGS": " ".join(self.cfg["w2v"]), "LEXICON_UNIT": "pieces"})

    def csr_stage1_args(self):
        return [self.path("data", "csr"), "--task", "code_switch_restore", "--langs", self.cc25,
                "--lang-pairs", ",".join(f"{SOURCE}-{lang}" for lang in TARGETS), "--source-lang", SOURCE,
                "--target-lang", TARGETS[0], "--lexicon-prefix", self.path("lexicons", "{src}-{tgt}", "lexicon"),
                "--arch", "mbart_tiny", *self.arch_flags, "--finetune-from-model", os.path.join(self.mbart, "model.pt"),
                *self.finetune_args()]

    def components(self):
        out = self.path("components.pt")
        if not done(out):
            run(["xlgen-language-components", "--model-dir", self.mbart, "--out", out, "--no-progress", "--text",
                 *(f"{lang}={self.bench}/mono/{lang}.txt" for lang in LANGS)], self.log("components"))

    def laft_stage1_args(self):
        return [self.path("data", "monolingual"), "--task", "multilingual_denoising", "--langs", ",".join(LANGS),
                "--add-lang-token", "--arch", "mbart_laft_tiny", "--laft-stage", "1", "--laft-langs", ",".join(LANGS),
                "--language-components", self.path("components.pt"), *self.arch_flags,
                "--finetune-from-model", os.path.join(self.mbart, "model.pt"),
                *self.text_infilling, "--no-whole-word-mask-langs", "zh_CN", "--sample-break-mode", "complete",
                "--tokens-per-sample", "256",
                "--multilang-sampling-alpha", "0.7", *self.finetune_args()]

    # ---------------------------------------------------------------- evaluation
    def references(self, lang):
        return os.path.join(self.bench, "tasks", TASK, lang, "test.target")

    def generate(self, name, lang):
        """fairseq-generate on LANG's test split (its closing line gives the decoding speed)."""
        out = self.path("results", name, f"test.{lang}.txt")
        if done(out):
            return
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if SYSTEMS[name].model == "mbart":
            args = [self.path("data", "title-mbart"), "--task", "multi_source_summarization", "--langs", self.cc25,
                    "--train-langs", SOURCE, "--eval-lang", lang, "--beam", "5",
                    "--max-len-b", str(self.cfg["max_len"]), "--remove-bpe", "sentencepiece"]
        else:
            args = [self.path("data", "title-xlmr"), "--task", "sga_translation", "--source-lang", lang,
                    "--target-lang", lang, "--bpe", "sentencepiece",
                    "--sentencepiece-model", os.path.join(self.xlmr, "sentencepiece.bpe.model"),
                    *(["--iter-decode-max-iter", "10"] if name == "sga" else
                      ["--beam", "5", "--max-len-b", str(self.cfg["max_len"])])]
        run(["fairseq-generate", *args, "--user-dir", USER_DIR, "--path",
             self.path("checkpoints", name, "checkpoint_last.pt"), "--gen-subset", "test", "--batch-size", "64",
             "--results-path", out + ".gen"], self.log(f"generate.{name}.{lang}"))
        os.replace(os.path.join(out + ".gen", "generate-test.txt"), out)
        os.rmdir(out + ".gen")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", metavar="WORK_DIR")
    parser.add_argument("size", nargs="?", default="small", choices=sorted(SETTINGS))
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help=f"comma-separated rows (default all: {','.join(SYSTEMS)})")
    parser.add_argument("--fixtures", choices=SHIPPED_SETS, default=None,
                        help="the shipped pretrained backbones (fixtures/NAME; default: the size's)")
    parser.add_argument("--seed", type=int, default=1, help="fairseq-train's --seed of every training run (the "
                        "training subset, batches, dropout and noise; the data and backbones stay the same)")
    args = parser.parse_args(argv)
    systems = [s for s in args.systems.split(",") if s]
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown or not systems:
        parser.error(f"--systems: unknown {','.join(unknown) or '(none given)'}; choose from {','.join(SYSTEMS)}")
    compare = Compare(args.work, args.size, systems, args.fixtures, args.seed)

    def body():
        compare.prepare()
        with tqdm(total=sum(compare.training_plan().values()), desc="train", unit="update") as train_bar:
            jobs = compare.jobs(UpdateCounter(train_bar))
            with tqdm(total=len(jobs), desc="jobs (lexicons, train, generate)", unit="job") as job_bar:
                run_graph(jobs, workers=2, on_done=lambda name: job_bar.update())
        from summary import write_summary  # beside this script

        return write_summary(compare, systems, SYSTEMS, LANGS, SOURCE)

    return run_and_report(body, compare.path("logs"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
