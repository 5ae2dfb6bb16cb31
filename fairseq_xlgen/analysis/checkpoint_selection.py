"""Checkpoint selection without target-language dev data (paper 002 §6.2, Tables 7-8) and
the rank correlation of XLRS with zero-shot scores (§5.6, Table 4).

A :class:`CheckpointResult` holds, for one checkpoint, its XLRS per language pair and its
scores per ``(language, split)``. Three selection criteria are compared, each reported by
the target-language test score of the checkpoint it picks:

* ``src-dev``: best score on the source language's dev set (the paper's "en-dev");
* ``cos-sim``: lowest XLRS between the source and the target language (needs only parallel
  sentences, :func:`fairseq_xlgen.analysis.xlrs.select_checkpoint_by_xlrs`);
* ``tgt-dev``: best score on the target language's dev set (upper bound, needs annotated
  target data). Δ is the mean difference to ``tgt-dev`` over the target languages.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

from fairseq_xlgen.analysis.xlrs import select_checkpoint_by_xlrs, spearman

CRITERIA = ("src-dev", "cos-sim", "tgt-dev")


@dataclass
class CheckpointResult:
    name: str
    num_updates: int
    xlrs: Dict[str, float]  # "en_XX-de_DE" -> XLRS
    scores: Dict[Tuple[str, str], float] = field(default_factory=dict)  # (lang, split) -> score

    def xlrs_between(self, a: str, b: str) -> float:
        """XLRS of the pair in either order (cosine similarity is symmetric)."""
        for key in (f"{a}-{b}", f"{b}-{a}"):
            if key in self.xlrs:
                return self.xlrs[key]
        raise KeyError(f"{self.name}: no XLRS for {a}-{b} (has {', '.join(self.xlrs)})")


def _best_by_score(results: Sequence[CheckpointResult], lang: str, split: str) -> CheckpointResult:
    """Highest score; ties go to the earlier checkpoint."""
    return max(results, key=lambda r: r.scores[(lang, split)])


def select_checkpoints(results: Sequence[CheckpointResult], src_lang: str, tgt_langs: Sequence[str],
                       dev_split: str = "valid", test_split: str = "test") -> dict:
    """Tables 7-8: per criterion and target language the picked checkpoint and its test score;
    ``delta`` per criterion is the mean test-score difference to ``tgt-dev``."""
    if not results:
        raise ValueError("no checkpoints to select from")
    results = sorted(results, key=lambda r: r.num_updates)
    by_name = {r.name: r for r in results}
    rows = {criterion: {} for criterion in CRITERIA}
    for tgt in tgt_langs:
        picked = {
            "src-dev": _best_by_score(results, src_lang, dev_split),
            "cos-sim": by_name[select_checkpoint_by_xlrs([(r.name, r.xlrs_between(src_lang, tgt)) for r in results])],
            "tgt-dev": _best_by_score(results, tgt, dev_split),
        }
        for criterion, result in picked.items():
            rows[criterion][tgt] = {"checkpoint": result.name, "num_updates": result.num_updates,
                                    "score": result.scores[(tgt, test_split)],
                                    "xlrs": result.xlrs_between(src_lang, tgt)}
    for criterion in CRITERIA:
        differences = [rows[criterion][t]["score"] - rows["tgt-dev"][t]["score"] for t in tgt_langs]
        rows[criterion] = {"targets": rows[criterion], "delta": sum(differences) / len(differences)}
    return {"src_lang": src_lang, "tgt_langs": list(tgt_langs), "dev_split": dev_split, "test_split": test_split,
            "rows": rows}


def selection_markdown(selection: dict, metric: str) -> str:
    """The selection as a markdown table: test scores (picked update in parentheses) and Δ."""
    tgt_langs = selection["tgt_langs"]
    names = {"src-dev": f"{selection['src_lang']}-dev", "cos-sim": "cos-sim (lowest XLRS)",
             "tgt-dev": "tgt-dev (upper bound)"}
    lines = [f"| {metric} ({selection['test_split']}) | " + " | ".join(tgt_langs) + " | Δ |",
             "|---" * (len(tgt_langs) + 2) + "|"]
    for criterion in CRITERIA:
        row = selection["rows"][criterion]
        cells = [f"{row['targets'][t]['score']:.2f} (@{row['targets'][t]['num_updates']})" for t in tgt_langs]
        lines.append(f"| {names[criterion]} | " + " | ".join(cells) + f" | {row['delta']:+.2f} |")
    return "\n".join(lines) + "\n"


def xlrs_score_correlation(results: Sequence[CheckpointResult], src_lang: str, tgt_langs: Sequence[str],
                           split: str = "test") -> dict:
    """Spearman's rho over checkpoints between the mean XLRS(src, t) and the mean zero-shot score
    over the target languages t (Table 4), and per target language; rho and p are None where
    either side is constant (rho undefined)."""
    def correlate(langs: List[str]) -> dict:
        xs = [sum(r.xlrs_between(src_lang, t) for t in langs) / len(langs) for r in results]
        ys = [sum(r.scores[(t, split)] for t in langs) / len(langs) for r in results]
        if len(set(xs)) < 2 or len(set(ys)) < 2:
            return {"rho": None, "p_value": None, "points": len(xs)}
        rho, p_value = spearman(xs, ys)
        return {"rho": rho, "p_value": p_value, "points": len(xs)}

    return {"mean": correlate(list(tgt_langs)), "per_target": {t: correlate([t]) for t in tgt_langs}}
