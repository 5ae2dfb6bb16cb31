"""`make claims`: the papers' headline claims, measured with several seeds on one set of backbones.

For each seed N, the runs named below (finished jobs are skipped on a rerun). Then each claim is one row: the
paper's number, ours as the mean over seeds with a 95 % t-interval (Student's t with seeds - 1 degrees of
freedom), and "reproduced" when the interval lies on the paper's side of zero, "not reproduced" when it lies on
the other side or every seed measures no difference, "inconclusive" when it holds zero -> WORK_DIR/claims.{md,json}.

    python examples/compare/claims.py WORK_DIR [--seeds 1,2,3] [--fixtures testbed-small] [--no-run]
        [--only RUN[,RUN...]]   RUN: compare, multisource, sga, free_generation, csr_translation, laft

Claims measured on make compare's title task (trained in en_XX, zero-shot in de_DE, ru_RU, zh_CN;
`examples/compare/run.py WORK_DIR/seed-N small --fixtures NAME --seed N --systems ...`):
* 002 (Li & Murray §6): two source languages on the same budget lower accidental translation (the
  wrong-language rate) on the languages neither run trains on (ru_RU, zh_CN) vs one source (paper: -68 %);
* 001 (LAFT, Table 1): LAFT beats mBART (full) zero-shot in ROUGE-L (paper: +2.55 zh, +7.38 fr) and
  outputs fewer wrong-language sentences; mBART (enc) beats mBART (full) too (paper: +2.03 zh, +3.15 fr),
  and LAFT beats mBART (enc) (paper: +0.52 zh, +4.23 fr);
* 004 (CSR), carried from translation to the title task (compare's CSR row: code-switching restore on
  en_XX task text and the targets' monolingual text, then the finetune): CSR beats the mBART finetune
  of the same update count in the trained language (paper: bilingual translation and summarization)
  and zero-shot (paper: zero-shot translation, 21 of 30 directions).
Claims measured on examples/multisource's summarization task (the en_XX-only finetune, a checkpoint
every 8 epochs, zero-shot in ru_RU and zh_CN; `SEED=N FIXTURES=NAME examples/multisource/run.sh
WORK_DIR/seed-N/multisource small`):
* 002 Tables 7-8: the checkpoint of lowest XLRS (en_XX vs target) scores higher zero-shot than the one
  best on the en_XX dev set, and close to the one best on the target dev set (the upper bound);
* 002 Table 4: Spearman's rho between XLRS and zero-shot quality over the checkpoints is negative.
Claims measured on examples/sga's translation (de_DE, ru_RU -> en_XX with one shared prompt set, zh_CN -> en_XX
zero-shot; SGA_UPDATES updates per system, `SEED=N FIXTURES=NAME UPDATES=SGA_UPDATES DISTILL=1 examples/sga/run.sh
WORK_DIR/seed-N/sga small`):
* 003 Table 1: SGA with its denoiser beats SGA w/o denoising (paper: +2.7 BLEU on xlmr.base), and beats the
  AR baseline of the same backbone, XLM-R with AT initialization (paper: +8.2 BLEU);
* 003 Table 2: with shared prompts, zero-shot X -> En is well above chance (here: the BLEU of the same outputs
  against another sentence's reference);
* 003 §4.2 (Gu et al. 2018, not measured in the paper): SGA trained on the AR baseline's outputs (sequence-level
  distillation, DISTILL=1) beats SGA trained on the references.
Claims measured on examples/sga/free_generation.sh (SGA with Mask-Predict alignment on the title task, en_XX -> en_XX,
SGA_UPDATES updates, `SEED=N FIXTURES=NAME UPDATES=SGA_UPDATES examples/sga/free_generation.sh
WORK_DIR/seed-N/free_generation small`), paper 003 Table 4:
* with the same number of Mask-Predict iterations, the CTC denoiser raises METEOR (paper: +0.8 / +0.4 / +0.3
  at 2 / 4 / 8);
* more iterations raise METEOR (8 vs 2 without the denoiser, paper: +1.3);
* 4 iterations with the denoiser beat 8 without it (paper: +0.1 METEOR, and faster).
Claims measured on examples/csr's translation in the paper's own setting (de_DE -> en_XX, stage 1 500 restore
updates + stage 2 2500 finetune updates against a 3000-update finetune; zero-shot ru_RU, zh_CN -> en_XX with the
de_DE -> en_XX model, `SEED=N FIXTURES=NAME SRC=de_DE TGT=en_XX ZERO_SHOT="ru_RU zh_CN" examples/csr/run.sh
WORK_DIR/seed-N/csr_translation small`):
* 004 Table II: CSR beats the mBART finetune in BLEU on bilingual translation (paper: De->En +1.4);
* 004 Table III: and on zero-shot XX -> En translation (paper: 21 of 30 directions);
* 004 Table VI: CSR narrows the cross-lingual representation distance of Eq. 4 more than the finetune does
  (paper: En-De 8.25 -> 7.90).
Claims measured on examples/laft's summarization, paper 001's own task and six systems (zero-shot in de_DE, ru_RU,
zh_CN; `SEED=N FIXTURES=NAME TRANSLATE_TRAIN= examples/laft/run.sh WORK_DIR/seed-N/laft small`):
* 001 Table 1: LAFT beats mBART (full) and mBART (enc) zero-shot in ROUGE-L and stays in the target language, on
  summarization; Table 3: it beats the Adapter baseline;
* 001 Tables 1, 3: LAFT and the baselines mBART (enc), mBART (enc top-2), mBART (full), Adapter and TM+adv come in
  the paper's order (Kendall's tau with it; 1 is the same order).
The other claims of the four papers need runs these do not make; claims.md lists them.
"""
import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable, Tuple

from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
COMPARE = os.path.join(HERE, "run.py")
MULTISOURCE = os.path.join(HERE, "..", "multisource", "run.sh")
SYSTEMS = ("mbart_full", "mbart_enc", "laft", "multi_source", "csr")
SOURCE, ZERO_SHOT = "en_XX", ("de_DE", "ru_RU", "zh_CN")
NEITHER = ("ru_RU", "zh_CN")  # zero-shot for the one-source and the two-source (en_XX + de_DE) runs
SGA = os.path.join(HERE, "..", "sga", "run.sh")
CSR = os.path.join(HERE, "..", "csr", "run.sh")
FREE_GENERATION = os.path.join(HERE, "..", "sga", "free_generation.sh")
LAFT = os.path.join(HERE, "..", "laft", "run.sh")
SOURCES = ("compare", "multisource", "sga", "free_generation", "csr_translation", "laft")
SGA_SUPERVISED, SGA_ZERO_SHOT = ("de_DE-en_XX", "ru_RU-en_XX"), ("zh_CN-en_XX",)
#: updates per SGA system (SGA, w/o denoising, the AR baseline): about 30 minutes per seed on one thread
SGA_UPDATES = 600
#: examples/csr's translation run: the trained pair and the zero-shot pairs (XX -> the same target)
CSR_PAIR, CSR_ZERO_SHOT = "de_DE-en_XX", ("ru_RU-en_XX", "zh_CN-en_XX")
CSR_SYSTEMS = {"csr": "stage2", "mbart_full": "baseline"}  # claim names -> run.sh's save directories
#: examples/laft's systems under make compare's names (the others keep theirs: enc_top2, adapter, tm_adv)
LAFT_SYSTEMS = {"full": "mbart_full", "enc": "mbart_enc", "laft": "laft"}
#: paper 001's zero-shot zh->zh ROUGE-L of LAFT and its five baselines (Tables 1 and 3), whose order is a claim
LAFT_PAPER_ROUGE_ZH = {"laft": 46.37, "mbart_enc": 45.85, "enc_top2": 44.85, "mbart_full": 43.82, "adapter": 43.05,
                       "tm_adv": 31.41}


@dataclass(frozen=True)
class Claim:
    """One row: ``measure(results of one seed) -> (ours - baseline, baseline)``; ``sign``: the side of zero the
    paper finds (+1 / -1; 0: the paper's number is a size, not a direction); ``source``: the run it reads;
    ``digits``: decimals of the per-seed values in claims.md."""

    id: str
    paper: str
    claim: str
    paper_number: str
    source: str
    measure: Callable[[dict], Tuple[float, float]]
    sign: int
    languages: Tuple[str, ...]
    digits: int = 1


def mean_over_langs(table, system, measure, langs):
    """``system``'s ``measure`` in a table of make compare's form, averaged over ``langs``."""
    return sum(table[system]["targets"][lang][measure] for lang in langs) / len(langs)


def compare_difference(system, baseline, measure, langs, source="compare"):
    """``system``'s minus ``baseline``'s ``measure`` in make compare's table (or ``source``'s table of the same
    form), averaged over ``langs``."""
    def difference(results):
        ours, base = (mean_over_langs(results[source], name, measure, langs) for name in (system, baseline))
        return ours - base, base
    return difference


def selection_difference(criterion, reference):
    """Zero-shot test score of the checkpoint ``criterion`` picks minus ``reference``'s (xlgen-xlrs select of the
    single-source run: its ``delta`` is the mean difference to tgt-dev over the targets)."""
    def difference(results):
        rows = results["multisource"]["selection"]["rows"]
        targets = rows[reference]["targets"]
        return rows[criterion]["delta"] - rows[reference]["delta"], sum(
            t["score"] for t in targets.values()) / len(targets)
    return difference


def xlrs_rank_correlation(results):
    """Spearman's rho of XLRS and the zero-shot score over the single-source run's checkpoints (0 when either is
    constant: no rank order)."""
    rho = results["multisource"]["spearman"]["mean"]["rho"]
    return (0.0 if rho is None else rho), 0.0


def sga_difference(system, baseline, pairs):
    """``system``'s minus ``baseline``'s BLEU in examples/sga's summary, averaged over ``pairs``; ``baseline``
    "chance": the same system's BLEU against another sentence's reference."""
    base_system, base_column = (system, "bleu_other_ref") if baseline == "chance" else (baseline, "bleu")

    def difference(results):
        def mean(name, column):
            return sum(results["sga"][name][pair][column] for pair in pairs) / len(pairs)
        ours, base = mean(system, "bleu"), mean(base_system, base_column)
        return ours - base, base
    return difference


def csr_translation_difference(measure, pairs):
    """CSR's minus the mBART finetune's ``measure`` ("bleu" per pair, or "distance": Eq. 4 on the trained pair) in
    examples/csr's translation run, averaged over ``pairs``."""
    def difference(results):
        table = results["csr_translation"][measure]
        ours, base = (sum(table[CSR_SYSTEMS[system]][pair] for pair in pairs) / len(pairs)
                      for system in ("csr", "mbart_full"))
        return ours - base, base
    return difference


def laft_order_agreement(results):
    """Kendall's tau between paper 001's order of LAFT and its five baselines (zh ROUGE-L, Tables 1 and 3) and
    ours (zero-shot SP-ROUGE-L averaged over the targets): 1 the same order, 0 unrelated, -1 reversed."""
    ours = [mean_over_langs(results["laft"], system, "sp_rougeL", ZERO_SHOT) for system in LAFT_PAPER_ROUGE_ZH]
    return stats.kendalltau(list(LAFT_PAPER_ROUGE_ZH.values()), ours).statistic, 0.0


def mask_predict_difference(*comparisons):
    """Table 4: METEOR (exact + stem) on en_XX of one free_generation.sh decode minus another's, averaged over
    ``comparisons``, each ``((iterations, denoiser), (iterations, denoiser))`` (denoiser "yes"/"no")."""
    def difference(results):
        table = results["free_generation"][SOURCE]
        ours, base = (sum(table[str(k)][denoiser]["meteor_exact_stem"] for k, denoiser in side) / len(comparisons)
                      for side in zip(*comparisons))
        return ours - base, base
    return difference


CLAIMS = [
    Claim("002-accidental", "002 §6", "two sources (en_XX+de_DE) vs one: wrong-language rate, % points",
          "-68 % relative", "compare", compare_difference("multi_source", "mbart_full", "wrong_language_rate", NEITHER),
          -1, NEITHER),
    Claim("001-laft-rouge", "001 Table 1", "LAFT vs mBART (full): zero-shot ROUGE-L (SP-ROUGE-L here)",
          "+2.55 zh / +7.38 fr", "compare", compare_difference("laft", "mbart_full", "sp_rougeL", ZERO_SHOT), +1,
          ZERO_SHOT),
    Claim("001-laft-language", "001 §5", "LAFT vs mBART (full): wrong-language rate, % points",
          "stays in the target language", "compare",
          compare_difference("laft", "mbart_full", "wrong_language_rate", ZERO_SHOT), -1, ZERO_SHOT),
    Claim("001-enc-rouge", "001 Table 1", "mBART (enc) vs mBART (full): zero-shot ROUGE-L (SP-ROUGE-L here)",
          "+2.03 zh / +3.15 fr", "compare", compare_difference("mbart_enc", "mbart_full", "sp_rougeL", ZERO_SHOT), +1,
          ZERO_SHOT),
    Claim("001-laft-vs-enc", "001 Table 1", "LAFT vs mBART (enc): zero-shot ROUGE-L (SP-ROUGE-L here)",
          "+0.52 zh / +4.23 fr", "compare", compare_difference("laft", "mbart_enc", "sp_rougeL", ZERO_SHOT), +1,
          ZERO_SHOT),
    Claim("004-csr-trained", "004 Tables II, IV", "CSR vs mBART (full), title task, in the trained language: SP-ROUGE-L",
          "+0.0 to +1.4 BLEU (6 legible directions), +0.4 / +0.9 ROUGE-L (summ.)", "compare",
          compare_difference("csr", "mbart_full", "sp_rougeL", (SOURCE,)), +1, (SOURCE,)),
    Claim("004-csr-zero-shot", "004 Table III", "CSR vs mBART (full), title task, zero-shot: SP-ROUGE-L",
          "higher BLEU in 21 of 30 zero-shot directions", "compare",
          compare_difference("csr", "mbart_full", "sp_rougeL", ZERO_SHOT), +1, ZERO_SHOT),
    Claim("002-select-vs-source-dev", "002 Tables 7-8", "checkpoint of lowest XLRS vs best on en_XX dev: zero-shot "
          "SP-ROUGE-L (summarization, en_XX-only finetune)", "+2.38 / +4.30 ROUGE-L", "multisource",
          selection_difference("cos-sim", "src-dev"), +1, NEITHER),
    Claim("002-select-vs-target-dev", "002 Tables 7-8", "checkpoint of lowest XLRS vs best on the target dev set "
          "(upper bound): zero-shot SP-ROUGE-L", "-0.85 / -0.58 ROUGE-L (close)", "multisource",
          selection_difference("cos-sim", "tgt-dev"), 0, NEITHER),
    Claim("002-rho", "002 Table 4", "Spearman rho of XLRS and zero-shot SP-ROUGE-L over checkpoints",
          "-0.33 to -0.39 (generation)", "multisource", xlrs_rank_correlation, -1, NEITHER, digits=2),
    Claim("003-denoising", "003 Table 1", "SGA vs SGA w/o denoising: BLEU X->en_XX", "+2.7 (xlmr.base) / +2.9 "
          "(large) BLEU", "sga", sga_difference("sga", "sga_ctc_only", SGA_SUPERVISED), +1, SGA_SUPERVISED),
    Claim("003-vs-ar", "003 Table 1", "SGA vs the AR baseline (XLM-R, AT initialization): BLEU X->en_XX",
          "+8.2 (xlmr.base) / +9.4 (large) BLEU", "sga", sga_difference("sga", "ar", SGA_SUPERVISED), +1,
          SGA_SUPERVISED),
    Claim("003-zero-shot", "003 Table 2", "SGA zero-shot with shared prompts vs chance (another sentence's "
          "reference): BLEU", "7.2-27.0 BLEU (xlmr.base; mTransformer 1.2-2.1)", "sga",
          sga_difference("sga", "chance", SGA_ZERO_SHOT), +1, SGA_ZERO_SHOT),
    Claim("003-distillation", "003 §4.2", "SGA on the AR baseline's outputs (distillation) vs on the references: BLEU "
          "X->en_XX", "not in the paper (NAT needs distillation: Gu et al. 2018)", "sga",
          sga_difference("sga_distilled", "sga", SGA_SUPERVISED), +1, SGA_SUPERVISED),
    Claim("003-tradeoff-denoiser", "003 Table 4", "Mask-Predict + denoiser vs Mask-Predict alone, same iterations "
          "(2, 4, 8): METEOR, title task", "+0.8 / +0.4 / +0.3 METEOR", "free_generation",
          mask_predict_difference(*(((k, "yes"), (k, "no")) for k in (2, 4, 8))), +1, (SOURCE,), digits=2),
    Claim("003-tradeoff-iterations", "003 Table 4", "8 vs 2 Mask-Predict iterations, no denoiser: METEOR, title task",
          "+1.3 METEOR", "free_generation", mask_predict_difference(((8, "no"), (2, "no"))), +1, (SOURCE,), digits=2),
    Claim("003-tradeoff-4-denoised-vs-8", "003 Table 4", "4 iterations + denoiser vs 8 iterations alone: METEOR, "
          "title task", "+0.1 METEOR (and 1.5x the speed)", "free_generation",
          mask_predict_difference(((4, "yes"), (8, "no"))), +1, (SOURCE,), digits=2),
    Claim("004-csr-bilingual", "004 Table II", "CSR vs the mBART finetune, translation: BLEU",
          "+1.4 BLEU (IWSLT14 De->En: 37.8 -> 39.2)", "csr_translation",
          csr_translation_difference("bleu", (CSR_PAIR,)), +1, (CSR_PAIR,)),
    Claim("004-csr-zero-shot-translation", "004 Table III", "CSR vs the mBART finetune (both trained de_DE->en_XX), "
          "zero-shot translation: BLEU", "higher BLEU in 21 of 30 XX->En directions", "csr_translation",
          csr_translation_difference("bleu", CSR_ZERO_SHOT), +1, CSR_ZERO_SHOT, digits=2),
    Claim("004-csr-distance", "004 Table VI", "CSR vs the mBART finetune: representation distance of Eq. 4",
          "-0.35 (En-De: 8.25 -> 7.90)", "csr_translation", csr_translation_difference("distance", (CSR_PAIR,)), -1,
          (CSR_PAIR,), digits=2),
    Claim("001-laft-rouge-summarization", "001 Table 1", "LAFT vs mBART (full), summarization: zero-shot "
          "SP-ROUGE-L", "+2.55 zh / +7.38 fr ROUGE-L", "laft",
          compare_difference("laft", "mbart_full", "sp_rougeL", ZERO_SHOT, source="laft"), +1, ZERO_SHOT),
    Claim("001-laft-vs-enc-summarization", "001 Table 1", "LAFT vs mBART (enc), summarization: zero-shot "
          "SP-ROUGE-L", "+0.52 zh / +4.23 fr ROUGE-L", "laft",
          compare_difference("laft", "mbart_enc", "sp_rougeL", ZERO_SHOT, source="laft"), +1, ZERO_SHOT),
    Claim("001-laft-vs-adapter", "001 Table 3", "LAFT vs Adapter, summarization: zero-shot SP-ROUGE-L",
          "+3.32 zh ROUGE-L (3.8 % vs 4.3 % trainable)", "laft",
          compare_difference("laft", "adapter", "sp_rougeL", ZERO_SHOT, source="laft"), +1, ZERO_SHOT),
    Claim("001-laft-language-summarization", "001 §5", "LAFT vs mBART (full), summarization: wrong-language rate, "
          "% points", "stays in the target language", "laft",
          compare_difference("laft", "mbart_full", "wrong_language_rate", ZERO_SHOT, source="laft"), -1, ZERO_SHOT),
    Claim("001-baseline-order", "001 Tables 1, 3", "the order of LAFT and its five baselines in zero-shot "
          "SP-ROUGE-L, summarization: Kendall tau with the paper's", "1 by definition (zh: LAFT 46.37 > enc 45.85 > "
          "enc top-2 44.85 > full 43.82 > Adapter 43.05 > TM+adv 31.41)", "laft", laft_order_agreement, 0,
          ZERO_SHOT, digits=2),
]

NOT_MEASURED = [
    ("003 Table 4", "the speed side of the Mask-Predict x denoiser trade-off", "free_generation.sh's tradeoff.tsv "
     "gives ms per sentence, timed on a shared CPU: an observation, not a claim"),
    ("003 Table 3", "SGA beats the AR model initialised from XLM-R on zero-shot free generation",
     "free_generation.sh trains no AR model"),
]


def mean_interval(values, confidence=0.95):
    """Mean and the half-width of its two-sided t-interval (0 for one value: no interval)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    sd = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5
    return mean, stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / n ** 0.5


def verdict(mean, half_width, sign):
    """reproduced / not reproduced / inconclusive: where the interval lies with respect to zero (``sign`` 0: the
    paper gives a size, not a direction, and the row is read against it)."""
    low, high = mean - half_width, mean + half_width
    if half_width != half_width:  # nan: one seed
        return "one seed: no interval"
    if sign == 0:
        return "a size: compare with the paper's"
    if mean == 0 and half_width == 0:  # every seed measured no difference (e.g. both systems at 100 %)
        return "not reproduced (no difference)"
    if (sign > 0 and low > 0) or (sign < 0 and high < 0):
        return "reproduced"
    if (sign > 0 and high < 0) or (sign < 0 and low > 0):
        return "not reproduced (opposite)"
    return "inconclusive"


def claim_rows(results, claims=CLAIMS):
    """``results``: ``{seed: {"compare": compare.json table, "multisource": {"selection": ..., "spearman": ...},
    "sga": read_sga_summary table}}``
    (a source may be missing: its claims are left out) -> one dict per claim measured."""
    rows = []
    for claim in claims:
        if not all(claim.source in by_source for by_source in results.values()):
            continue
        per_seed, base_values = zip(*(claim.measure(by_source) for by_source in results.values()))
        mean, half = mean_interval(list(per_seed))
        base_mean = sum(base_values) / len(base_values)
        rows.append({"id": claim.id, "paper": claim.paper, "claim": claim.claim, "paper_number": claim.paper_number,
                     "source": claim.source, "languages": list(claim.languages), "digits": claim.digits,
                     "seeds": list(results),
                     "per_seed": list(per_seed), "mean": mean, "interval": [mean - half, mean + half],
                     "baseline_mean": base_mean, "relative": mean / base_mean if base_mean else None,
                     "verdict": verdict(mean, half, claim.sign)})
    return rows


SOURCE_TEXT = {
    "compare": "make compare's title task (2000 en_XX instances, 1000 updates per system)",
    "multisource": "examples/multisource's summarization (2000 en_XX instances, 40 epochs, a checkpoint every 8)",
    "sga": f"examples/sga's translation (2000 pairs per language, {SGA_UPDATES} updates per system)",
    "free_generation": f"examples/sga/free_generation.sh's title task (en_XX, {SGA_UPDATES} updates)",
    "csr_translation": "examples/csr's translation (2000 de_DE-en_XX pairs, 500 + 2500 updates vs 3000)",
    "laft": "examples/laft's summarization (2000 en_XX documents, 1500 updates per system after LAFT's 600 of "
            "stage 1)",
}


def markdown(rows, fixtures="testbed-small"):
    seeds = ",".join(str(seed) for seed in rows[0]["seeds"])
    sources = "; ".join(SOURCE_TEXT[s] for s in SOURCES if any(r["source"] == s for r in rows))
    lines = [f"Backbones `fixtures/{fixtures}`; {sources}; seeds {seeds}: `python examples/compare/claims.py WORK "
             f"--seeds {seeds} --fixtures {fixtures}`. Each value is the system's (or the selection's) minus the "
             "baseline's, averaged over the claim's languages; rho is itself the value.", "",
             "| claim | paper | ours: mean [95 % interval] over seeds | per seed | baseline mean | verdict |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        relative = f" ({100 * r['relative']:+.0f} % relative)" if r["relative"] is not None else ""
        per_seed = " / ".join(f"{value:+.{r['digits']}f}" for value in r["per_seed"])
        lines.append(f"| {r['paper']}: {r['claim']} ({', '.join(r['languages'])}) | {r['paper_number']} | "
                     f"{r['mean']:+.2f} [{r['interval'][0]:+.2f}, {r['interval'][1]:+.2f}]{relative} | {per_seed} | "
                     f"{r['baseline_mean']:.2f} | {r['verdict']} |")
    lines += ["", "Not measured by `make claims`:", ""]
    lines += [f"- {paper}: {claim} ({where})" for paper, claim, where in NOT_MEASURED]
    return "\n".join(lines)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def seed_runs(work, seed, fixtures):
    """``{source: (command, its environment additions, what to say when it fails)}``: the runs of one seed."""
    multisource, sga, free, csr, laft = (os.path.join(work, name) for name in (
        "multisource", "sga", "free_generation", "csr_translation", "laft"))
    return {
        "compare": ([sys.executable, COMPARE, work, "small", "--fixtures", fixtures, "--seed", str(seed),
                     "--systems", ",".join(SYSTEMS)], {}, f"make compare with --seed {seed} failed; see {work}/logs/"),
        "multisource": (["bash", MULTISOURCE, multisource, "small"], {"SEED": str(seed), "FIXTURES": fixtures},
                        f"examples/multisource/run.sh with SEED={seed} failed; see {multisource}/"),
        "sga": (["bash", SGA, sga, "small"],
                {"SEED": str(seed), "FIXTURES": fixtures, "UPDATES": str(SGA_UPDATES), "DISTILL": "1"},
                f"examples/sga/run.sh with SEED={seed} failed; see {sga}/"),
        "free_generation": (["bash", FREE_GENERATION, free, "small"],
                            {"SEED": str(seed), "FIXTURES": fixtures, "UPDATES": str(SGA_UPDATES)},
                            f"examples/sga/free_generation.sh with SEED={seed} failed; see {free}/"),
        "csr_translation": (["bash", CSR, csr, "small"],
                            {"SEED": str(seed), "FIXTURES": fixtures, "SRC": CSR_PAIR.split("-")[0],
                             "TGT": CSR_PAIR.split("-")[1],
                             "ZERO_SHOT": " ".join(pair.split("-")[0] for pair in CSR_ZERO_SHOT)},
                            f"examples/csr/run.sh with SEED={seed} failed; see {csr}/"),
        "laft": (["bash", LAFT, laft, "small"], {"SEED": str(seed), "FIXTURES": fixtures, "TRANSLATE_TRAIN": ""},
                 f"examples/laft/run.sh with SEED={seed} failed; see {laft}/"),
    }


def read_results(work, source):
    """The results of one finished run of ``source`` in a seed's ``work`` directory."""
    if source == "compare":
        return read_json(os.path.join(work, "results", "compare.json"))
    if source == "multisource":
        single = os.path.join(work, "multisource", "results", "single")
        return {"selection": read_json(os.path.join(single, "selection.json")),
                "spearman": read_json(os.path.join(single, "spearman.json"))}
    if source == "free_generation":
        return read_tradeoff(os.path.join(work, "free_generation", "tradeoff.tsv"))
    if source == "csr_translation":
        return read_csr_translation(os.path.join(work, "csr_translation"))
    if source == "laft":
        return read_laft_summary(os.path.join(work, "laft", "results", "summary.json"))
    return read_sga_summary(os.path.join(work, "sga", "summary.tsv"))


def run_seed(work, seed, fixtures, sources, run=True):
    """The runs of one seed (``run``: start them, finished work is skipped; else only read what they wrote)
    -> ``{source: results}``; None (after a one-line error) when a run failed or has not finished."""
    results = {}
    for source in sources:
        command, env, failure = seed_runs(work, seed, fixtures)[source]
        if run and subprocess.run(command, env={**os.environ, **env}).returncode != 0:
            print(f"error: {failure}", file=sys.stderr)
            return None
        try:
            results[source] = read_results(work, source)
        except (FileNotFoundError, KeyError) as e:
            print(f"error: {work}: the {source} run of seed {seed} has not finished ({e}); run without --no-run",
                  file=sys.stderr)
            return None
    return results


def read_tsv_rows(path):
    """The rows of a tab-separated table with a header line, each a ``{column: text}`` dict."""
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f]


def read_sga_summary(path):
    """examples/sga's summary.tsv -> ``{system: {pair: {"bleu": ..., "bleu_other_ref": ...}}}``."""
    table = {}
    for row in read_tsv_rows(path):
        table.setdefault(row["system"], {})[row["pair"]] = {
            "bleu": float(row["bleu"]), "bleu_other_ref": float(row["bleu_other_ref"])}
    return table


def read_tradeoff(path):
    """free_generation.sh's tradeoff.tsv -> ``{lang: {iterations: {denoiser "yes"/"no": {column: value}}}}``."""
    table = {}
    for row in read_tsv_rows(path):
        table.setdefault(row["lang"], {}).setdefault(row["iterations"], {})[row["denoiser"]] = {
            column: float(row[column]) for column in ("rouge_l", "meteor_exact_stem")}
    return table


def read_csr_translation(work):
    """examples/csr's run directory -> ``{"bleu": {system: {pair: BLEU}}, "distance": {system: {pair: Eq. 4}}}``
    (systems: run.sh's save directories, baseline and stage2)."""
    bleu = {system: {CSR_PAIR: read_json(os.path.join(work, system, "scores.json"))["scores"]["bleu"],
                     **{pair: read_json(os.path.join(work, system, f"scores.{pair}.json"))["scores"]["bleu"]
                        for pair in CSR_ZERO_SHOT}}
            for system in CSR_SYSTEMS.values()}
    from fairseq_xlgen.analysis.model_measurement import by_model_directory

    distance = by_model_directory(read_json(os.path.join(work, "distance.json"))["models"], "distance")
    return {"bleu": bleu, "distance": {system: distance[system] for system in CSR_SYSTEMS.values()}}


def read_laft_summary(path):
    """examples/laft's summary.json -> the rows of its zero-shot setting (the targets and the trained en_XX) in make
    compare's form, ``{system: {"targets": {lang: {"sp_rougeL": ..., "wrong_language_rate": ...}}}}`` (names:
    LAFT_SYSTEMS)."""
    table = {}
    for row in read_json(path)["systems"]:
        if row["setting"] == "zero-shot":
            targets = table.setdefault(LAFT_SYSTEMS.get(row["system"], row["system"]), {"targets": {}})["targets"]
            targets[row["lang"]] = {measure: row[measure] for measure in ("sp_rougeL", "wrong_language_rate")}
    return table


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", metavar="WORK_DIR")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated fairseq-train seeds (at least 2 give an "
                        "interval; default 1,2,3)")
    parser.add_argument("--fixtures", default="testbed-small", help="the shipped backbones (fixtures/NAME)")
    parser.add_argument("--only", metavar="RUNS", help=f"comma-separated runs whose claims to run and report, of "
                        f"{','.join(SOURCES)}: make compare's, examples/multisource's, examples/sga's run.sh and "
                        "free_generation.sh, examples/csr's translation, examples/laft's run.sh (default: all six)")
    parser.add_argument("--no-run", action="store_true", help="tabulate the finished runs in WORK_DIR without "
                        "starting them (a rerun skips finished work, but checking it takes minutes per seed)")
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s]
    except ValueError:
        parser.error(f"--seeds {args.seeds}: expected comma-separated integers, e.g. 1,2,3")
    if not seeds:
        parser.error("--seeds: give at least one seed")
    sources = [s for s in args.only.split(",") if s] if args.only else list(SOURCES)
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        parser.error(f"--only {args.only}: choose from {','.join(SOURCES)}")
    results = {}
    for seed in seeds:
        results[seed] = run_seed(os.path.join(args.work, f"seed-{seed}"), seed, args.fixtures, sources,
                                 run=not args.no_run)
        if results[seed] is None:
            return 1
    rows = claim_rows(results)
    text = markdown(rows, args.fixtures)
    from fairseq_xlgen.file_io import atomic_output

    for ext, content in (("md", text + "\n"), ("json", json.dumps(rows, indent=2))):
        with atomic_output(os.path.join(args.work, f"claims.{ext}")) as f:
            f.write(content)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
