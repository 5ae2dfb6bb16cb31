"""PNG plots (matplotlib, Agg backend): XLRS during finetuning (paper 002 Figures 1-3, 6) and
word accuracy by frequency bucket (paper 004 Table VII)."""
from typing import Mapping, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from fairseq_xlgen.file_io import atomic_path


def _save_png(figure, path: str) -> None:
    """Save via a temporary file in the same directory, then rename."""
    try:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=120, format="png")
    finally:
        plt.close(figure)


def plot_xlrs_curves(curves: Mapping[str, Sequence[Tuple[int, float]]], path: str, title: str = "XLRS") -> None:
    """One line per language pair: XLRS (y) against the number of updates (x)."""
    figure, axes = plt.subplots(figsize=(6, 4))
    for pair, points in curves.items():
        updates, values = zip(*sorted(points))
        axes.plot(updates, values, marker="o", label=pair)
    axes.set_xlabel("updates")
    axes.set_ylabel("mean cosine similarity (XLRS)")
    axes.set_title(title)
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    _save_png(figure, path)


def plot_word_accuracy(systems: Mapping[str, Mapping[str, float]], path: str, title: str = "word accuracy") -> None:
    """Grouped bars: f-measure per frequency bucket (x) for each system, e.g.
    ``{"finetuned": {"low": 48.6, "mid": 58.4, "high": 68.7}}``."""
    buckets = list(next(iter(systems.values())))
    width = 0.8 / len(systems)
    figure, axes = plt.subplots(figsize=(6, 4))
    for k, (system, fmeasures) in enumerate(systems.items()):
        axes.bar([i + k * width for i in range(len(buckets))], [fmeasures[b] for b in buckets], width, label=system)
    axes.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(buckets))], buckets)
    axes.set_xlabel("training frequency bucket")
    axes.set_ylabel("f-measure")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    _save_png(figure, path)


def plot_tsne_panels(panels: Mapping[str, Tuple[Sequence[Sequence[float]], Sequence[str]]], path: str,
                     seed: int = 1) -> None:
    """One t-SNE scatter per panel, points coloured by label (paper 001 Figure 2):
    ``{"encoder output": (vectors, languages), ...}``."""
    import numpy as np
    from sklearn.manifold import TSNE

    figure, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4.5), squeeze=False)
    for ax, (title, (vectors, labels)) in zip(axes[0], panels.items()):
        vectors = np.asarray(vectors, dtype=np.float64)
        points = TSNE(n_components=2, perplexity=min(30.0, len(vectors) - 1.0), init="pca",
                      random_state=seed).fit_transform(vectors)
        for label in sorted(set(labels)):
            chosen = [i for i, value in enumerate(labels) if value == label]
            ax.scatter(points[chosen, 0], points[chosen, 1], s=8, label=label)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(markerscale=2)
    figure.tight_layout()
    _save_png(figure, path)
