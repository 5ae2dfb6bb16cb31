"""Sentence representations of an mBART model: XLRS (Li & Murray, paper 002 §4) from
mean-pooled encoder states of parallel sentences, and the cross-lingual representation
distance (Zan et al., paper 004 §V-A, Eq. 4) from the decoder output on the last token.

Sentences are fed in mBART's source format ``x </s> [lang]`` (SentencePiece pieces, the
model's dictionary), batched with fairseq's left padding. For XLRS a sentence's representation
is the mean of its encoder output states over the sentence's own tokens x (footnote 2: "mean
pooling over the sentence"): the ``</s>`` and ``[lang]`` states, identical in layout for every
sentence of a language, are left out, as is padding; in fp32 whatever the model's precision
(:func:`fairseq_xlgen.analysis.xlrs.sentence_mean`). XLRS of a language pair is the mean cosine
similarity of the aligned representations.

For Eq. 4 a sentence is teacher-forced through the decoder as ``[L] x`` (mBART finetuning's
decoder input for the target ``x </s> [L]`` up to the sentence's last token); its embedding is
the decoder's last-layer output at the last position, x's last token, in fp32. A language is
represented by the mean of its sentence embeddings (§V-A), so the sentences of the two
languages need not be parallel (the paper uses 20k CC-100 sentences per language); the
literal parallel form of Eq. 4 is the ``parallel`` variant
(:func:`fairseq_xlgen.analysis.xlrs.representation_distance`).

Parallel sentences are text files ``PREFIX.{lang}`` with line i of every language being
translations of each other; the paper samples 512 of them (footnote 2), here a seeded sample
of line numbers shared by all languages. Monolingual sentences (``PREFIX.{lang}``, any number
of lines each) are sampled per language.
"""
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from fairseq.data import data_utils

from fairseq_xlgen.analysis.generate_output import SPM_SPACE, read_lines
from fairseq_xlgen.analysis.xlrs import last_token_state, representation_distance, sentence_mean, xlrs
from fairseq_xlgen.pretrained import mbart_source_tokens

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


def read_monolingual_sentences(prefix: str, langs: Sequence[str], max_sentences: int, seed: int) -> Dict[str, List[str]]:
    """A seeded sample of at most ``max_sentences`` non-empty lines of ``PREFIX.{lang}`` per language."""
    lines = {}
    for lang in langs:
        path = f"{prefix}.{lang}"
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: missing; the sentences of {lang} must be {prefix}.{lang}")
        text = [line for line in read_lines(path) if line.strip()]
        if not text:
            raise ValueError(f"{path}: no non-empty line")
        lines[lang] = [text[i] for i in sample_line_numbers(len(text), max_sentences, seed)]
    return lines


def check_pieces(lines: Sequence[str], path: str) -> None:
    """Raise unless ``lines`` are SentencePiece pieces (a ``▁`` on every non-empty line)."""
    if any(line.strip() and SPM_SPACE not in line for line in lines):
        raise ValueError(f"{path}: not SentencePiece pieces (a line without {SPM_SPACE}); encode it with "
                         "xlgen-spm-encode first")


@torch.no_grad()
def _per_batch(model, sentences: Sequence[torch.Tensor], pad_index: int, batch_size: int, represent) -> torch.Tensor:
    """Concatenated ``represent(model, batch, tokens, lengths)`` over batches of left-padded
    token sequences, in evaluation mode (the model's mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    rows = []
    try:
        for start in range(0, len(sentences), batch_size):
            batch = sentences[start:start + batch_size]
            tokens = data_utils.collate_tokens(batch, pad_index, left_pad=True).to(device)
            lengths = torch.tensor([len(s) for s in batch], device=device)
            rows.append(represent(model, batch, tokens, lengths).cpu())
    finally:
        model.train(was_training)
    return torch.cat(rows)


def pooled_encoder_states(model, sentences: Sequence[torch.Tensor], pad_index: int,
                          batch_size: int = XLRS_BATCH_SENTENCES) -> torch.Tensor:
    """``[N, C]`` fp32 encoder states of mBART source-format sentences ``x </s> [lang]``,
    mean-pooled over the tokens of x (not ``</s> [lang]``, not padding), in evaluation mode."""
    if any(len(s) < 3 for s in sentences):
        raise ValueError("an empty sentence has no token to pool; remove empty lines from the parallel files")

    def represent(model, batch, tokens, lengths):
        encoder_out = model.encoder(tokens, src_lengths=lengths)
        # left padding: every row ends with its </s> [lang], the last two time steps
        return sentence_mean(encoder_out["encoder_out"][0][:-2], tokens[:, :-2].eq(pad_index))
    return _per_batch(model, sentences, pad_index, batch_size, represent)


def mbart_decoder_inputs(source_tokens: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """``[lang] x`` from source-format ``x </s> [lang]``: fairseq's ``prev_output_tokens`` of
    an mBART target ``x </s> [lang]`` (the language tag moved to the front) up to x's last token."""
    return [torch.cat([tokens[-1:], tokens[:-2]]) for tokens in source_tokens]


def last_decoder_states(model, sentences: Sequence[torch.Tensor], pad_index: int,
                        batch_size: int = XLRS_BATCH_SENTENCES) -> torch.Tensor:
    """``[N, C]`` fp32 decoder outputs at the last position (paper 004 §V-A) for mBART
    source-format sentences, each teacher-forced as ``[lang] x`` (:func:`mbart_decoder_inputs`)."""
    def represent(model, batch, tokens, lengths):
        prev_output = data_utils.collate_tokens(mbart_decoder_inputs(batch), pad_index, left_pad=False)
        prev_output = prev_output.to(tokens.device)
        features, _ = model(tokens, lengths, prev_output, features_only=True)
        return last_token_state(features, prev_output.eq(pad_index), batch_first=True)
    return _per_batch(model, sentences, pad_index, batch_size, represent)


def _represent_by_pair(model, dictionary, piece_lines, pairs, represent, compare, batch_size):
    max_positions = model.encoder.max_positions()
    represented = {}
    for lang in dict.fromkeys(lang for pair in pairs for lang in pair):
        tokens = mbart_source_tokens(piece_lines[lang], dictionary, lang, max_positions)
        represented[lang] = represent(model, tokens, dictionary.pad(), batch_size)
    return {pair_name(pair): compare(represented[pair[0]], represented[pair[1]]) for pair in pairs}


def distance_by_pair(model, dictionary, piece_lines: Mapping[str, Sequence[str]], pairs: Sequence[Tuple[str, str]],
                     batch_size: int = XLRS_BATCH_SENTENCES, variant: str = "means") -> Dict[str, float]:
    """Paper 004 Eq. 4 for every pair, ``{"en_XX-de_DE": D}``, from the last-token decoder outputs:
    the distance of the two languages' mean embeddings (``means``, any sentences) or the norm of
    the stacked differences of parallel sentences (``parallel``)."""
    def compare(a, b):
        return representation_distance(a, b, variant=variant)
    return _represent_by_pair(model, dictionary, piece_lines, pairs, last_decoder_states, compare, batch_size)


def xlrs_by_pair(model, dictionary, piece_lines: Mapping[str, Sequence[str]], pairs: Sequence[Tuple[str, str]],
                 batch_size: int = XLRS_BATCH_SENTENCES) -> Dict[str, float]:
    """XLRS of every pair, ``{"en_XX-de_DE": value}``, from each language's parallel pieces."""
    return _represent_by_pair(model, dictionary, piece_lines, pairs, pooled_encoder_states, xlrs, batch_size)
