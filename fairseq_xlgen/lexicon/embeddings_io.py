"""Word2vec text-format embeddings (read with file:line errors, written atomically).

Format (what gensim's ``save_word2vec_format(binary=False)`` writes): a header line
``N D``, then ``N`` lines ``word v1 ... vD`` separated by single spaces, most frequent
word first. Every problem with an input file is raised as :class:`InputFileError`, whose
message names ``file:line`` and says what to do; the command-line tools print it as
``error: <message>`` and exit with status 2.
"""
import numpy as np
import torch

from fairseq_xlgen.errors import InputFileError
from fairseq_xlgen.file_io import atomic_output, iter_decoded_lines, require_file


def _parse_header(path, line):
    fields = line.split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        raise InputFileError(
            path, f"expected a word2vec header 'N D' (two integers), got {line.strip()[:60]!r}; "
            "is this a word2vec text file (not binary, not GloVe)?", line=1,
        )
    return int(fields[0]), int(fields[1])


def read_embeddings(path, dtype=torch.float32):
    """Read a word2vec text file; return ``(words, tensor of shape (N, D))``.

    Raises :class:`InputFileError` (with ``file:line``) for a missing file, a bad header or one
    announcing no words or 0 dimensions, a line with the wrong number of values, a non-numeric
    or non-finite (NaN, Inf) value, a duplicate word, or a word count that differs from the header.
    """
    require_file(path, "embedding file")
    words, rows, seen = [], [], {}
    with open(path, "rb") as f:
        lines = iter_decoded_lines(path, f)
        header = next(lines, (1, ""))[1]
        if not header:
            raise InputFileError(path, "empty file; expected a word2vec header 'N D'", line=1)
        count, dim = _parse_header(path, header)
        if count == 0 or dim == 0:
            raise InputFileError(path, f"header {header.strip()!r} announces no vectors; pass embeddings with "
                                 "at least one word and one dimension (xlgen-train-embeddings output)", line=1)
        for line_number, line in lines:
            fields = line.rstrip("\r\n").rstrip(" ").split(" ")
            if len(fields) != dim + 1:
                raise InputFileError(
                    path, f"expected a word and {dim} values (header says D={dim}), "
                    f"found {len(fields) - 1} values; regenerate or fix this line", line=line_number,
                )
            word = fields[0]
            if not word:
                raise InputFileError(path, "line starts with a space (empty word); fix this line",
                                     line=line_number)
            if word in seen:
                raise InputFileError(
                    path, f"duplicate word {word!r} (first at line {seen[word]}); "
                    "each word must appear once", line=line_number,
                )
            try:
                rows.append(np.asarray(fields[1:], dtype=np.float64))
            except ValueError:
                raise InputFileError(path, "non-numeric value in the vector; fix this line",
                                     line=line_number) from None
            if not np.isfinite(rows[-1]).all():
                raise InputFileError(path, "non-finite value (NaN or Inf) in the vector; retrain or fix the "
                                     "embeddings", line=line_number)
            seen[word] = line_number
            words.append(word)
    if len(words) != count:
        raise InputFileError(
            path, f"header announces {count} words but the file has {len(words)}; "
            "fix the header or the file", line=1,
        )
    return words, torch.from_numpy(np.stack(rows)).to(dtype)


def write_embeddings(path, words, embeddings):
    """Write ``words`` and the rows of ``embeddings`` as word2vec text, atomically."""
    matrix = embeddings.detach().to("cpu", torch.float64).numpy()
    if len(words) != matrix.shape[0]:
        raise ValueError(f"{len(words)} words but {matrix.shape[0]} embedding rows")
    unwritable = next((w for w in words if not w or len(w.split()) != 1 or w != w.strip()), None)
    if unwritable is not None:
        raise ValueError(f"word {unwritable!r} is empty or contains whitespace; word2vec text cannot hold it")
    with atomic_output(path) as f:
        f.write(f"{matrix.shape[0]} {matrix.shape[1]}\n")
        for word, row in zip(words, matrix):
            f.write(word + " " + " ".join(f"{v:.6g}" for v in row) + "\n")


def read_word_pairs(path):
    """Read a seed dictionary: one ``src_word tgt_word`` pair per line (blank lines ignored)."""
    require_file(path, "seed dictionary")
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise InputFileError(path, f"expected 'source_word target_word', found {len(fields)} "
                                     "fields; fix this line", line=line_number)
            pairs.append((fields[0], fields[1]))
    return pairs
