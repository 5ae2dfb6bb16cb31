"""Input noise of SGA's denoiser (§4.4, T̃₀ = T₀ + ε), as in the authors' code.

Each sentence draws a rate r ~ U(0, ``max_rate``); each of its canvas positions is corrupted
with probability r, and a corrupted position becomes a blank (40%), a random real piece (30%)
or a copy of the token at another position of the same sentence holding a real piece (30%;
a blank when the sentence has no other one). Specials (``<s>``, ``</s>``, ``<pad>``, ``<unk>``,
the blank) are never inserted or copied, and positions outside the canvas are never touched
(the authors' copy noise could copy ``<pad>``/``<s>``/``</s>``).

Randomness comes from :func:`noise_rng` seeded by (seed, update, sample id), so a resumed run
and every DDP worker corrupt a sentence the same way.
"""
from typing import Sequence, Tuple

import numpy as np
import torch

#: shares of blank / random-token / copy corruptions
NOISE_SHARES = (0.4, 0.3, 0.3)


def noise_rng(seed: int, update: int, sample_id: int, stream: int = 0) -> np.random.Generator:
    """The generator of one sentence's noise at one update (``stream`` separates uses)."""
    return np.random.default_rng([int(seed), int(update), int(sample_id), int(stream)])


def corrupt(tokens: np.ndarray, canvas: np.ndarray, blank: int, piece_range: Tuple[int, int],
            rng: np.random.Generator, max_rate: float = 0.2, shares: Sequence[float] = NOISE_SHARES) -> np.ndarray:
    """Corrupt one sentence; ``canvas`` marks the positions noise may change.

    Real pieces are the ids in ``piece_range`` = [low, high), which must exclude the blank.
    """
    low, high = piece_range
    if low <= blank < high:
        raise ValueError(f"noise: the blank {blank} lies inside the real-piece range [{low}, {high})")
    out = tokens.copy()
    rate = rng.uniform(0.0, max_rate)
    chosen = np.flatnonzero(canvas & (rng.random(len(tokens)) < rate))
    kinds = rng.choice(3, size=len(chosen), p=np.asarray(shares) / np.sum(shares))
    sources = np.flatnonzero(canvas & (tokens >= low) & (tokens < high))
    for position, kind in zip(chosen, kinds):
        if kind == 0:
            out[position] = blank
        elif kind == 1:
            out[position] = rng.integers(low, high)
        else:
            others = sources[sources != position]
            out[position] = tokens[rng.choice(others)] if len(others) else blank
    return out


def corrupt_batch(tokens: torch.Tensor, canvas: torch.Tensor, blank: int, piece_range: Tuple[int, int],
                  rngs: Sequence[np.random.Generator], max_rate: float = 0.2) -> torch.Tensor:
    """:func:`corrupt` every row of (B, T) ``tokens`` with its own generator."""
    array, mask = tokens.cpu().numpy(), canvas.cpu().numpy()
    rows = [corrupt(array[i], mask[i], blank, piece_range, rngs[i], max_rate) for i in range(len(rngs))]
    return torch.from_numpy(np.stack(rows)).to(tokens.device)
