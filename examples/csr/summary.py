"""Side-by-side results of examples/csr/run.sh: the mBART baseline against CSR (stage 2).

    python examples/csr/summary.py WORK_DIR

Reads WORK/{baseline,stage2}/scores.json (xlgen-score), the zero-shot pairs' scores.XX-TGT.json
(run.sh's ZERO_SHOT), WORK/distance.json (xlgen-xlrs distance) and WORK/lexicon/lexicon.json
(xlgen-induce-lexicon); prints a markdown table with BLEU and chrF (paper Table II), word F-measure by
training frequency (Table VII), zero-shot BLEU (Table III) and the representation distance of Eq. 4
(Table VI); writes it to WORK/summary.md as well.
"""
import os
import re
import sys

from fairseq_xlgen.analysis.model_measurement import by_model_directory
from fairseq_xlgen.file_io import atomic_output, read_json

SYSTEMS = (("baseline", "mBART finetune"), ("stage2", "CSR (restore + finetune)"))


def zero_shot_pairs(work):
    """The XX-TGT pairs both systems decoded zero-shot (their scores.XX-TGT.json), sorted."""
    name = re.compile(r"scores\.([^.]+-[^.]+)\.json$")
    found = [{m.group(1) for m in map(name.match, os.listdir(os.path.join(work, system))) if m}
             for system, _ in SYSTEMS]
    return sorted(set.intersection(*found))


def summary(work):
    scores = {name: read_json(os.path.join(work, name, "scores.json")) for name, _ in SYSTEMS}
    zero_shot = zero_shot_pairs(work)
    zero_shot_bleu = {name: [read_json(os.path.join(work, name, f"scores.{pair}.json"))["scores"]["bleu"]
                             for pair in zero_shot] for name, _ in SYSTEMS}
    table = read_json(os.path.join(work, "distance.json"))
    distances = by_model_directory(table["models"], "distance")
    pair = table["pairs"][0]
    buckets = [b["name"] for b in scores["baseline"].get("word_accuracy", {}).get("buckets", [])]
    header = (["system", f"BLEU {pair}", "chrF"] + [f"word F ({b})" for b in buckets]
              + [f"BLEU {p} (zero-shot)" for p in zero_shot] + [f"distance {pair} (Eq. 4)"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, label in SYSTEMS:
        result = scores[name]
        words = [f"{b['fmeasure']:.2f}" for b in result.get("word_accuracy", {}).get("buckets", [])]
        lines.append("| " + " | ".join([label, f"{result['scores']['bleu']:.2f}", f"{result['scores']['chrf']:.2f}",
                                        *words, *(f"{b:.2f}" for b in zero_shot_bleu[name]),
                                        f"{distances[name][pair]:.2f}"]) + " |")
    pretrained = [v for k, v in distances.items() if k not in scores]
    if pretrained:
        lines.append(f"\nDistance before finetuning (pretrained model): {pretrained[0][pair]:.2f}.")
    lexicon_json = os.path.join(work, "lexicon", "lexicon.json")
    precision = read_json(lexicon_json).get("precision") if os.path.isfile(lexicon_json) else None
    if precision:  # {} without --gold (own data)
        lines.append("Lexicon precision@1 against the gold lexicon (switching units and gold words compared as text, "
                     "multi-piece words included): " + ", ".join(
            f"{direction} {p['p@1']:.3f} ({p['evaluated_words']} words)" for direction, p in precision.items()) + ".")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.exit("usage: python examples/csr/summary.py WORK_DIR")
    text = summary(argv[0])
    print(text, end="")
    with atomic_output(os.path.join(argv[0], "summary.md")) as f:
        f.write(text)


if __name__ == "__main__":
    main()
