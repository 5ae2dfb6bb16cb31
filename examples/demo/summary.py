"""The demo's table (markdown + JSON) and plot, from the per-run score, language-ID and XLRS files."""
import os

from fairseq_xlgen.file_io import read_json
from fairseq_xlgen.testbed.runner import grouped_bars, write_outputs


def collect(work, results, systems, source, targets):
    """``{system: {"train_seconds", "targets": {lang: {sp_rougeL, wrong_language_rate, in_source_rate,
    no_letters_rate, xlrs}}}}``."""
    xlrs = {os.path.abspath(row["model"]): row["xlrs"] for row in read_json(os.path.join(results, "xlrs.json"))["models"]}
    table = {}
    for system, train_langs in systems.items():
        checkpoint = os.path.abspath(os.path.join(work, "checkpoints", system, "checkpoint_last.pt"))
        row = {"train_langs": list(train_langs),
               "train_seconds": read_json(os.path.join(work, "checkpoints", system, ".done"))["train_seconds"],
               "targets": {}}
        for lang in targets:
            prefix = os.path.join(results, system, f"test.{lang}")
            lid = read_json(prefix + ".langid.json")["summary"]
            row["targets"][lang] = {
                "zero_shot": lang not in train_langs,
                "sp_rougeL": read_json(prefix + ".scores.json")["scores"]["sp_rougeL"],
                "wrong_language_rate": lid["wrong_language_rate"],
                "in_source_rate": lid["source_language_rate"],
                "no_letters_rate": lid["no_letters_rate"],
                "xlrs": xlrs[checkpoint][f"{source}-{lang}"],
            }
        table[system] = row
    return table


def markdown(table, labels, source):
    lines = ["| system | target | SP-ROUGE-L | wrong language % | in " + source + " % | no letters % | XLRS "
             + source + "-target |", "|---|---|---|---|---|---|---|"]
    for system, row in table.items():
        for lang, r in row["targets"].items():
            seen = "" if r["zero_shot"] else " (trained)"
            lines.append(f"| {labels[system]} | {lang}{seen} | {r['sp_rougeL']:.2f} | {r['wrong_language_rate']:.1f} "
                         f"| {r['in_source_rate']:.1f} | {r['no_letters_rate']:.1f} | {r['xlrs']:.3f} |")
    return "\n".join(lines)


def plot(table, labels, targets):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    grouped_bars(axes, [{"label": labels[system], **row} for system, row in table.items()], targets,
                 ("sp_rougeL", "wrong_language_rate", "xlrs"),
                 ("SP-ROUGE-L (higher is better)", "wrong language % (lower is better)",
                  "XLRS with en_XX (higher: more language-agnostic)"))
    axes[0].legend(fontsize=8)
    fig.suptitle("zero-shot summarization: task data in en_XX only (tiny mBART, synthetic benchmark); "
                 "hatched: a language the system was trained on", fontsize=10)
    fig.tight_layout()
    return fig


def write_summary(work, results, systems, labels, source, targets):
    """Write ``results/summary.{md,json,png}``; return the markdown table and the three paths."""
    table = collect(work, results, systems, source, targets)
    text = markdown(table, labels, source)
    return text, write_outputs(os.path.join(results, "summary"), table, text, plot(table, labels, targets))
