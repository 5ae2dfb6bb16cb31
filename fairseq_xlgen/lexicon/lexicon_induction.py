"""Translation-lexicon induction from mapped embeddings (CSR paper §III, "unsupervised
translation vocabulary"): the top-k *most* similar target units of each source unit by CSLS.

§III ranks by the dot product of the mapped embeddings; we keep CSLS (knn=10) as the default,
the retrieval of VecMap (Artetxe et al. 2018, the paper's [23]), which demotes "hub" targets
that are the dot-product neighbour of many queries; ``knn=0`` is the paper's plain dot
product (the mapped embeddings are unit length, so it equals the cosine).

Words are CSR switching units (:mod:`fairseq_xlgen.lexicon.switch_units`): word2vec tokens
whose pieces are joined by U+2040; the TSV writes a unit as its pieces separated by spaces.

The CSR authors' script sorted similarities ascending and so kept the k least similar
candidates; here candidates are sorted by descending CSLS score (rank 1 = best). Units
missing from the model's fairseq dictionary are dropped, never mapped to ``<unk>``.
"""
from .embedding_mapping import csls_topk
from .switch_units import is_insertable, unit_pieces, unit_surface
from fairseq_xlgen.errors import InputFileError
from fairseq_xlgen.file_io import atomic_output, require_file

#: fairseq.data.Dictionary's default special symbols, ids 0-3; file lines start at id 4.
FAIRSEQ_SPECIAL_SYMBOLS = ("<s>", "<pad>", "</s>", "<unk>")


def induce_lexicon(src_words, src_mapped, tgt_words, tgt_mapped, k=3, knn=10, batch_size=10000):
    """Top-k targets of every source word by CSLS, best first.

    Returns a list of ``(src_word, tgt_word, score, rank)`` with rank 1..k.
    """
    scores, indices = csls_topk(src_mapped, tgt_mapped, k, knn=knn, batch_size=batch_size)
    return [
        (src_word, tgt_words[j], score, rank)
        for src_word, row_scores, row_indices in zip(src_words, scores.tolist(), indices.tolist())
        for rank, (score, j) in enumerate(zip(row_scores, row_indices), start=1)
    ]


def read_fairseq_dictionary(path):
    """Map each token of a fairseq ``dict.txt`` to its id, parsing and numbering lines as
    ``fairseq.data.Dictionary.load`` does: ``<token> <count> [#fairseq:overwrite]`` split
    from the right, special symbols 0-3, file line i (1-based) gets id 3 + i (an overwrite
    line re-assigns the token to its new id)."""
    require_file(path, "fairseq dictionary")
    ids = {symbol: i for i, symbol in enumerate(FAIRSEQ_SPECIAL_SYMBOLS)}
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            fields = line.rstrip().rsplit(" ", 1)
            overwrite = fields[-1] == "#fairseq:overwrite"
            if overwrite:
                fields = fields[0].rsplit(" ", 1)
            if len(fields) != 2 or not fields[1].lstrip("+-").isdigit():
                raise InputFileError(path, "expected '<token> <count> [#fairseq:overwrite]' "
                                     "(a fairseq dict.txt line); fix this line", line=line_number)
            token = fields[0]
            if token in ids and not overwrite:
                raise InputFileError(path, f"duplicate token {token!r}; fairseq refuses it unless "
                                     "the line ends with '#fairseq:overwrite'", line=line_number)
            ids[token] = len(FAIRSEQ_SPECIAL_SYMBOLS) + line_number - 1
    return ids


def _is_dictionary_unit(word, dictionary, encode=None):
    pieces = unit_pieces(word) if encode is None else encode(word)
    return ((encode is not None or is_insertable(pieces))
            and all(p in dictionary and p not in FAIRSEQ_SPECIAL_SYMBOLS for p in pieces))


def restrict_to_dictionary(words, embeddings, dictionary, encode=None):
    """Keep the units (and embedding rows) whose pieces are all ordinary tokens of
    ``dictionary`` (special symbols excluded), so no lexicon entry ever needs ``<unk>``, and
    that are whole units (a continuation piece can never be a switch or a translation).
    Words units (``encode``: word → its SentencePiece pieces) are whole by construction."""
    keep = [i for i, word in enumerate(words) if _is_dictionary_unit(word, dictionary, encode)]
    return [words[i] for i in keep], embeddings[keep]


def lexicon_to_ids(entries, dictionary):
    """``(src ids, tgt ids, score, rank)`` for entries whose units' pieces are all tokens of the
    (shared, as for mBART) fairseq ``dictionary`` (see :func:`restrict_to_dictionary`); a
    unit's ids are space-separated."""
    def ids(word):
        return " ".join(str(dictionary[piece]) for piece in unit_pieces(word))
    return [(ids(src), ids(tgt), score, rank) for src, tgt, score, rank in entries]


def write_lexicon_tsv(path, entries):
    """Write ``src<TAB>tgt<TAB>score<TAB>rank`` lines atomically (score with 6 decimals), a
    multi-piece unit as its pieces separated by spaces."""
    with atomic_output(path) as f:
        for src, tgt, score, rank in entries:
            src, tgt = (" ".join(unit_pieces(str(w))) for w in (src, tgt))
            f.write(f"{src}\t{tgt}\t{score:.6f}\t{rank}\n")


def precision_at_k(entries, gold_pairs, k=1):
    """Bilingual lexicon induction precision@k against a gold lexicon.

    Evaluated on the query words that have both candidates in ``entries`` and a gold
    translation; a word counts as correct when one of its top-k candidates is a gold
    translation. Units and gold words are compared by their text (:func:`unit_surface`), so
    multi-piece words count too. Returns ``(precision, number of evaluated words)``.
    """
    gold = {}
    for src, tgt in gold_pairs:
        gold.setdefault(unit_surface(src), set()).add(unit_surface(tgt))
    hits = {}
    for src, tgt, _, rank in entries:
        src, tgt = unit_surface(src), unit_surface(tgt)
        if src in gold:
            hits[src] = hits.get(src, False) or (rank <= k and tgt in gold[src])
    return (sum(hits.values()) / len(hits) if hits else 0.0), len(hits)
