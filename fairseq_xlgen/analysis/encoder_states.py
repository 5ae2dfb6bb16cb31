"""XLRS of an mBART model (Li & Murray, paper 002 §4): encode parallel sentences, mean-pool.

Sentences are fed in mBART's source format ``x </s> [lang]`` (SentencePiece pieces, the
model's dictionary), batched with fairseq's left padding; a sentence's representation is the
mean of its encoder output states over the non-padding positions (footnote 2), in fp32
whatever the model's precision (:func:`fairseq_xlgen.analysis.xlrs.mean_pool`). XLRS of a
language pair is the mean cosine similarity of the aligned representations.

Parallel sentences are text files ``PREFIX.{lang}`` with line i of every language being
translations of each other; the paper samples 512 of them (footnote 2), here a seeded sample
of line numbers shared by all languages.
"""
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from fairseq.data import data_utils

from fairseq_xlgen.analysis.generate_output import SPM_SPACE, read_lines
from fairseq_xlgen.analysis.xlrs import mean_pool, xlrs

#: sentences per encoder forward pass
XLRS_BATCH_SENTENCES = 64


def language_pairs(langs: Sequence[str], pairs: Optional[Sequence[str]] = None) -> List[Tuple[str, str]]:
    """``pairs`` as ``("en_XX", "de_DE")`` tuples from ``"en_XX-de_DE"`` strings; default: the
    first language with each other one (the paper's English-vs-target curves)."""
    if not pairs:
        if len(langs) < 2:
            raise ValueError(f"XLRS needs at least two languages, got {list(langs)}")
        return [(langs[0], other) for other in langs[1:]]
    result = []
    for pair in pairs:
        a, sep, b = pair.partition("-")
        if not sep or a not in langs or b not in langs or a == b:
            raise ValueError(f"pair {pair!r}: write LANG-LANG with two different languages of {list(langs)}")
        result.append((a, b))
    return result


def pair_name(pair: Tuple[str, str]) -> str:
    return "-".join(pair)


def sample_line_numbers(n_lines: int, max_sentences: int, seed: int) -> np.ndarray:
    """Sorted line numbers of a seeded sample of ``max_sentences`` lines (all when fewer)."""
    if n_lines <= max_sentences:
        return np.arange(n_lines)
    return np.sort(np.random.default_rng(seed).choice(n_lines, size=max_sentences, replace=False))


def read_parallel_sentences(prefix: str, langs: Sequence[str], max_sentences: int, seed: int) -> Dict[str, List[str]]:
    """The same sampled lines of ``PREFIX.{lang}`` for every language."""
    lines = {}
    for lang in langs:
        path = f"{prefix}.{lang}"
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: missing; the parallel sentences of {lang} must be {prefix}.{lang}")
        lines[lang] = read_lines(path)
    counts = {len(v) for v in lines.values()}
    if len(counts) != 1 or 0 in counts:
        sizes = ", ".join(f"{prefix}.{lang}: {len(v)}" for lang, v in lines.items())
        raise ValueError(f"parallel files need equally many non-zero lines ({sizes})")
    keep = sample_line_numbers(counts.pop(), max_sentences, seed)
    return {lang: [v[i] for i in keep] for lang, v in lines.items()}


def check_pieces(lines: Sequence[str], path: str) -> None:
    """Raise unless ``lines`` are SentencePiece pieces (a ``▁`` on every non-empty line)."""
    if any(line.strip() and SPM_SPACE not in line for line in lines):
        raise ValueError(f"{path}: not SentencePiece pieces (a line without {SPM_SPACE}); encode it with "
                         "xlgen-spm-encode first")


def mbart_source_tokens(piece_lines: Sequence[str], dictionary, lang: str, max_positions: int) -> List[torch.Tensor]:
    """Token ids in mBART's source format ``x </s> [lang]``; longer inputs keep their first
    ``max_positions - 2`` pieces."""
    lang_index = dictionary.index(f"[{lang}]")
    if lang_index == dictionary.unk():
        raise ValueError(f"[{lang}] is not in the model dictionary; the language must be one of the model's --langs")
    tokens = []
    for line in piece_lines:
        ids = dictionary.encode_line(line, add_if_not_exist=False, append_eos=False).long()[: max_positions - 2]
        tokens.append(torch.cat([ids, ids.new_tensor([dictionary.eos(), lang_index])]))
    return tokens


@torch.no_grad()
def pooled_encoder_states(model, sentences: Sequence[torch.Tensor], pad_index: int,
                          batch_size: int = XLRS_BATCH_SENTENCES) -> torch.Tensor:
    """``[N, C]`` fp32 mean-pooled encoder states of token sequences, in evaluation mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    pooled = []
    try:
        for start in range(0, len(sentences), batch_size):
            batch = sentences[start:start + batch_size]
            tokens = data_utils.collate_tokens(batch, pad_index, left_pad=True).to(device)
            lengths = torch.tensor([len(s) for s in batch], device=device)
            encoder_out = model.encoder(tokens, src_lengths=lengths)
            pooled.append(mean_pool(encoder_out["encoder_out"][0], tokens.eq(pad_index)).cpu())
    finally:
        model.train(was_training)
    return torch.cat(pooled)


def xlrs_by_pair(model, dictionary, piece_lines: Mapping[str, Sequence[str]], pairs: Sequence[Tuple[str, str]],
                 batch_size: int = XLRS_BATCH_SENTENCES) -> Dict[str, float]:
    """XLRS of every pair, ``{"en_XX-de_DE": value}``, from each language's parallel pieces."""
    max_positions = model.encoder.max_positions()
    pooled = {}
    for lang in dict.fromkeys(lang for pair in pairs for lang in pair):
        tokens = mbart_source_tokens(piece_lines[lang], dictionary, lang, max_positions)
        pooled[lang] = pooled_encoder_states(model, tokens, dictionary.pad(), batch_size)
    return {pair_name(pair): xlrs(pooled[pair[0]], pooled[pair[1]]) for pair in pairs}
