"""`make compare`'s table (markdown + JSON) and plot, from each run's .done, fairseq-generate output and log."""
import os
import re

from fairseq_xlgen.analysis.language_id import NgramIdentifier, language_id_report
from fairseq_xlgen.analysis.scoring import score_outputs
from fairseq_xlgen.cli.tool_io import read_sentences, read_system_output
from fairseq_xlgen.file_io import read_json
from fairseq_xlgen.testbed.runner import grouped_bars, write_outputs

#: fairseq-generate's closing line: "Translated 200 sentences (1,234 tokens) in 3.1s (64.5 sentences/s, ...)"
SPEED = re.compile(r"Translated [\d,]+ sentences \([\d,]+ tokens\) in [\d.]+s \(([\d.]+) sentences/s")


def decoding_speed(generate_log):
    """Sentences per second of the last fairseq-generate run logged in ``generate_log`` (its own timer:
    decoding only, no model loading)."""
    with open(generate_log, encoding="utf-8") as f:
        match = SPEED.findall(f.read())
    if not match:
        raise ValueError(f"{generate_log}: no 'Translated N sentences' line; generate again")
    return float(match[-1])


def collect(compare, names, systems, langs, source):
    """``{system: {label, recipe, train_langs, updates, train_seconds, trainable, stage1_trainable, parameters,
    targets: {lang: {zero_shot, sp_rougeL, rougeL, wrong_language_rate, in_source_rate, no_letters_rate,
    sentences_per_second}}}}``.

    Scores as ``xlgen-score --metrics rouge,sp_rouge --spm mbart.cc25/sentence.bpe.model`` (every system
    scored over the same pieces), language ID as ``xlgen-langid --backend ngram`` with the benchmark's
    identifier."""
    identifier = NgramIdentifier.load(compare.path("results", "ngram-lid.json"))
    spm = os.path.join(compare.mbart, "sentence.bpe.model")
    table = {}
    for name in names:
        system = systems[name]
        run = read_json(compare.path("checkpoints", name, ".done"))
        stage1 = read_json(compare.path("checkpoints", system.stage1, ".done")) if system.stage1 else None
        row = {"label": system.label, "recipe": system.recipe, "train_langs": list(system.train_langs),
               "updates": run["updates"] + (stage1["updates"] if stage1 else 0),
               "train_seconds": round(run["train_seconds"] + (stage1["train_seconds"] if stage1 else 0), 1),
               "parameters": run["parameters"], "trainable": run["trainable"],
               "stage1_trainable": stage1["trainable"] if stage1 else None, "targets": {}}
        for lang in langs:
            output = compare.path("results", name, f"test.{lang}.txt")
            hyps = read_system_output(output).hypotheses
            refs = read_sentences(compare.references(lang), "--ref")
            scores = score_outputs(hyps, refs, lang, metrics=("rouge", "sp_rouge"), spm_model=spm)["scores"]
            lid = language_id_report(identifier, hyps, source, lang)["summary"]
            row["targets"][lang] = {
                "zero_shot": lang not in system.train_langs,
                "sp_rougeL": scores["sp_rougeL"], "rougeL": scores["rougeL"],
                "wrong_language_rate": lid["wrong_language_rate"], "in_source_rate": lid["source_language_rate"],
                "no_letters_rate": lid["no_letters_rate"],
                "sentences_per_second": decoding_speed(compare.log(f"generate.{name}.{lang}")),
            }
        table[name] = row
    return table


def _count(n):
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


def markdown(table, source):
    """One row per system: SP-ROUGE-L / wrong-language % (and the letterless share within it) per language,
    then cost columns."""
    langs = list(next(iter(table.values()))["targets"])
    head = " | ".join(f"{lang}{' (task)' if lang == source else ''}" for lang in langs)
    lines = [f"| system | {head} | trainable | training | decoding | recipe |",
             "|---" * (len(langs) + 5) + "|"]
    for row in table.values():
        cells = []
        for lang, r in row["targets"].items():
            mark = "" if r["zero_shot"] or lang == source else "†"
            letterless = f" ({r['no_letters_rate']:.0f}% letterless)" if r["no_letters_rate"] >= 0.5 else ""
            cells.append(f"{r['sp_rougeL']:.1f} / {r['wrong_language_rate']:.0f}%{letterless}{mark}")
        trainable = _count(row["trainable"]) + (f" (+{_count(row['stage1_trainable'])} stage 1)"
                                                if row["stage1_trainable"] is not None else "")
        speed = sum(r["sentences_per_second"] for r in row["targets"].values()) / len(row["targets"])
        lines.append(f"| {row['label']} | {' | '.join(cells)} | {trainable} of {_count(row['parameters'])} | "
                     f"{row['train_seconds']:.0f} s | {speed:.0f} sent/s | `{row['recipe']}` |")
    lines.append("")
    lines.append("Cells: SP-ROUGE-L (ROUGE-L over SentencePiece pieces) / share of outputs not in the language "
                 "(letterless: of them, outputs without any letter, e.g. a lone `?`, whose language is undetermined); "
                 f"† trained on that language's task data (not zero-shot). Every system: the same {source} "
                 "instances and updates (extra stages included); training seconds and decoding speed (test split, "
                 "batch 64, one thread) on this machine.")
    return "\n".join(lines)


def plot(table):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    grouped_bars(axes, list(table.values()), list(next(iter(table.values()))["targets"]),
                 ("sp_rougeL", "wrong_language_rate"),
                 ("SP-ROUGE-L (higher is better)", "wrong language % (lower is better)"))
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle("zero-shot title generation: task data in en_XX only, same instances and updates for every "
                 "system (tiny models, synthetic benchmark); hatched: trained on that language", fontsize=10)
    fig.tight_layout()
    return fig


def write_summary(compare, names, systems, langs, source):
    """Write ``results/compare.{md,json,png}``; return the markdown table and the three paths."""
    table = collect(compare, names, systems, langs, source)
    text = markdown(table, source)
    return text, write_outputs(compare.path("results", "compare"), table, text, plot(table))
