"""`make claims`: the papers' headline claims, measured with several seeds on one set of backbones.

For each seed, `examples/compare/run.py WORK_DIR/seed-N small --fixtures NAME --seed N --systems ...`
(finished jobs are skipped on a rerun); then each claim is one row: the paper's number, ours as the
mean over seeds with a 95 % t-interval (Student's t with seeds - 1 degrees of freedom), and
"reproduced" when the interval lies on the paper's side of zero, "not reproduced" when it lies on
the other side or every seed measures no difference, "inconclusive" when it holds zero -> WORK_DIR/claims.{md,json}.

    python examples/compare/claims.py WORK_DIR [--seeds 1,2,3] [--fixtures testbed-small]

Claims measured here (make compare's title task, trained in en_XX, zero-shot in de_DE, ru_RU, zh_CN):
* 002 (Li & Murray §6): two source languages on the same budget lower accidental translation (the
  wrong-language rate) on the languages neither run trains on (ru_RU, zh_CN) vs one source (paper: -68 %);
* 001 (LAFT, Table 1): LAFT beats mBART (full) zero-shot in ROUGE-L (paper: +2.55 zh, +7.38 fr) and
  outputs fewer wrong-language sentences; mBART (enc) beats mBART (full) too (paper: +2.03 zh, +3.15 fr),
  and LAFT beats mBART (enc) (paper: +0.52 zh, +4.23 fr).
The other claims of the four papers need runs make compare does not make; claims.md lists them.
"""
import argparse
import json
import os
import subprocess
import sys

from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
COMPARE = os.path.join(HERE, "run.py")
SYSTEMS = ("mbart_full", "mbart_enc", "laft", "multi_source")
ZERO_SHOT = ("de_DE", "ru_RU", "zh_CN")
NEITHER = ("ru_RU", "zh_CN")  # zero-shot for the one-source and the two-source (en_XX + de_DE) runs

#: (id, paper, claim, paper's number, system, baseline, measure, languages, sign the paper finds)
CLAIMS = [
    ("002-accidental", "002 §6", "two sources (en_XX+de_DE) vs one: wrong-language rate, % points", "-68 % relative",
     "multi_source", "mbart_full", "wrong_language_rate", NEITHER, -1),
    ("001-laft-rouge", "001 Table 1", "LAFT vs mBART (full): zero-shot ROUGE-L (SP-ROUGE-L here)",
     "+2.55 zh / +7.38 fr", "laft", "mbart_full", "sp_rougeL", ZERO_SHOT, +1),
    ("001-laft-language", "001 §5", "LAFT vs mBART (full): wrong-language rate, % points",
     "stays in the target language", "laft", "mbart_full", "wrong_language_rate", ZERO_SHOT, -1),
    ("001-enc-rouge", "001 Table 1", "mBART (enc) vs mBART (full): zero-shot ROUGE-L (SP-ROUGE-L here)",
     "+2.03 zh / +3.15 fr", "mbart_enc", "mbart_full", "sp_rougeL", ZERO_SHOT, +1),
    ("001-laft-vs-enc", "001 Table 1", "LAFT vs mBART (enc): zero-shot ROUGE-L (SP-ROUGE-L here)",
     "+0.52 zh / +4.23 fr", "laft", "mbart_enc", "sp_rougeL", ZERO_SHOT, +1),
]

NOT_MEASURED = [
    ("002 Tables 7-8", "lowest-XLRS checkpoint selection close to target-dev selection, better than source-dev",
     "examples/multisource/ (xlgen-xlrs select) on one seed; not yet over seeds"),
    ("002 Table 4", "rho(XLRS, zero-shot quality) < 0 for generation", "examples/multisource/; not yet over seeds"),
    ("003 Table 2", "SGA with the denoiser beats SGA without, near the AR baseline", "needs translation runs "
     "(examples/sga/) on the testbed XLM-R"),
    ("004 Table VI", "CSR beats the mBART finetune in BLEU, narrows Eq. 4", "needs translation runs (examples/csr/) "
     "with seeds"),
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
    """reproduced / not reproduced / inconclusive: where the interval lies with respect to zero."""
    low, high = mean - half_width, mean + half_width
    if half_width != half_width:  # nan: one seed
        return "one seed: no interval"
    if mean == 0 and half_width == 0:  # every seed measured no difference (e.g. both systems at 100 %)
        return "not reproduced (no difference)"
    if (sign > 0 and low > 0) or (sign < 0 and high < 0):
        return "reproduced"
    if (sign > 0 and high < 0) or (sign < 0 and low > 0):
        return "not reproduced (opposite)"
    return "inconclusive"


def claim_rows(tables):
    """``tables``: ``{seed: compare.json table}`` -> one dict per claim of :data:`CLAIMS`."""
    rows = []
    for cid, paper, claim, paper_number, system, baseline, measure, langs, sign in CLAIMS:
        per_seed, base_values = [], []
        for table in tables.values():
            ours = sum(table[system]["targets"][lang][measure] for lang in langs) / len(langs)
            base = sum(table[baseline]["targets"][lang][measure] for lang in langs) / len(langs)
            per_seed.append(ours - base)
            base_values.append(base)
        mean, half = mean_interval(per_seed)
        base_mean = sum(base_values) / len(base_values)
        rows.append({"id": cid, "paper": paper, "claim": claim, "paper_number": paper_number,
                     "languages": list(langs), "seeds": list(tables), "per_seed": per_seed, "mean": mean,
                     "interval": [mean - half, mean + half], "baseline_mean": base_mean,
                     "relative": mean / base_mean if base_mean else None, "verdict": verdict(mean, half, sign)})
    return rows


def markdown(rows, fixtures="testbed-small"):
    seeds = ",".join(str(seed) for seed in rows[0]["seeds"])
    lines = [f"Backbones `fixtures/{fixtures}`; make compare's title task (2000 en_XX instances, 1000 updates per "
             f"system), seeds {seeds}: `python examples/compare/claims.py WORK --seeds {seeds} --fixtures {fixtures}`. "
             "Each value is the system's minus the baseline's, averaged over the claim's languages.", "",
             "| claim | paper | ours: mean [95 % interval] over seeds | per seed | baseline mean | verdict |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        relative = f" ({100 * r['relative']:+.0f} % relative)" if r["relative"] is not None else ""
        per_seed = " / ".join(f"{value:+.1f}" for value in r["per_seed"])
        lines.append(f"| {r['paper']}: {r['claim']} ({', '.join(r['languages'])}) | {r['paper_number']} | "
                     f"{r['mean']:+.2f} [{r['interval'][0]:+.2f}, {r['interval'][1]:+.2f}]{relative} | {per_seed} | "
                     f"{r['baseline_mean']:.2f} | {r['verdict']} |")
    lines += ["", "Not measured by `make claims`:", ""]
    lines += [f"- {paper}: {claim} ({where})" for paper, claim, where in NOT_MEASURED]
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", metavar="WORK_DIR")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated fairseq-train seeds (at least 2 give an "
                        "interval; default 1,2,3)")
    parser.add_argument("--fixtures", default="testbed-small", help="the shipped backbones (fixtures/NAME)")
    args = parser.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s]
    except ValueError:
        parser.error(f"--seeds {args.seeds}: expected comma-separated integers, e.g. 1,2,3")
    if not seeds:
        parser.error("--seeds: give at least one seed")
    tables = {}
    for seed in seeds:
        work = os.path.join(args.work, f"seed-{seed}")
        proc = subprocess.run([sys.executable, COMPARE, work, "small", "--fixtures", args.fixtures, "--seed", str(seed),
                               "--systems", ",".join(SYSTEMS)])
        if proc.returncode != 0:
            print(f"error: make compare with --seed {seed} failed; see {work}/logs/", file=sys.stderr)
            return 1
        with open(os.path.join(work, "results", "compare.json"), encoding="utf-8") as f:
            tables[seed] = json.load(f)
    rows = claim_rows(tables)
    text = markdown(rows, args.fixtures)
    from fairseq_xlgen.file_io import atomic_output

    for ext, content in (("md", text + "\n"), ("json", json.dumps(rows, indent=2))):
        with atomic_output(os.path.join(args.work, f"claims.{ext}")) as f:
            f.write(content)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
