"""LAFT's language components c_L (paper 001 §3.1 step 1), estimated over each language's monolingual text.

The pretrained mBART encoder reads each sentence in the source format ``x </s> [L]``; each sentence's token
states are mean-pooled (not padding, ``</s>`` or ``[L]``); the Gram matrix M_Lᵀ M_L of those sentence
vectors is summed in float64 (memory O(d²) for any number of sentences), and its top-k eigenvectors are
kept: the first k right singular vectors of M_L (uncentred, as in LIR). :func:`estimate_components` writes
one file for all languages, atomically (:mod:`fairseq_xlgen.data.language_components_file`), and resumes
from ``OUT.partial`` (saved every ``save_every`` sentences) when restarted with the same settings. The
maths is :mod:`fairseq_xlgen.modules.language_components`; the CLI is ``xlgen-language-components``.
"""
import logging
import os

import torch
from tqdm import tqdm

from fairseq_xlgen.data.language_components_file import encoder_fingerprint, save_components
from fairseq_xlgen.errors import InputError, InputFileError
from fairseq_xlgen.file_io import atomic_path, file_sha256, iter_decoded_lines, refuse_directory, require_file
from fairseq_xlgen.modules.language_components import (GramAccumulator, mean_pool, sentence_token_mask,
                                                       special_token_ids)
from fairseq_xlgen.pretrained import MBART_LAYOUT, load_pretrained, load_sentencepiece, mbart_source_tokens

logger = logging.getLogger("xlgen-language-components")


def read_sentences(path, skip_lines, max_sentences):
    """Yield ``(line number, text)`` of non-empty lines after the first ``skip_lines`` lines."""
    taken = 0
    with open(path, "rb") as f:
        for number, line in iter_decoded_lines(path, f):
            if number <= skip_lines or not line.strip():
                continue
            if taken == max_sentences:
                return
            taken += 1
            yield number, line.strip()


class Estimator:
    """A pretrained mBART encoder and its tokenizer: ``encode`` gives token states, ``sentence_vectors`` ē."""

    def __init__(self, model_dir, device="cpu", fp16=False, max_length=256):
        hub = load_pretrained(model_dir, MBART_LAYOUT)
        self.model = hub.model.to(device)
        self.model.eval()
        if fp16:
            self.model.half()
        self.dictionary = hub.task.source_dictionary
        self.specials = special_token_ids(self.dictionary).to(device)
        self.sp = load_sentencepiece(os.path.join(model_dir, MBART_LAYOUT.spm_file))
        self.max_length = max_length
        self.dim = self.model.encoder.embed_tokens.embedding_dim

    @torch.no_grad()
    def encode(self, lines, lang):
        """fp32 encoder outputs (T×B×C) of raw ``lines`` as ``x </s> [lang]`` and the B×T mask of x's tokens."""
        pieces = [" ".join(self.sp.encode(line, out_type=str)) for line in lines]
        tokens = mbart_source_tokens(pieces, self.dictionary, lang, self.max_length)
        batch = torch.nn.utils.rnn.pad_sequence(tokens, batch_first=True, padding_value=self.dictionary.pad())
        batch = batch.to(self.specials.device)
        out = self.model.encoder(batch, src_lengths=batch.ne(self.dictionary.pad()).sum(1))
        return out["encoder_out"][0].float(), sentence_token_mask(batch, self.specials)

    def sentence_vectors(self, lines, lang):
        return mean_pool(*self.encode(lines, lang))


def estimate_components(model_dir, texts, out, k=6, max_sentences=1_000_000, batch_size=64, max_length=256,
                        save_every=20000, device="cpu", fp16=False, progress=True):
    """Estimate k components per language of ``texts`` ({lang: file}) with the mBART in ``model_dir``,
    write them to ``out`` and return {lang: {"components", "singular_values", "sentences"}}."""
    refuse_directory(out, "--out")
    for lang, path in texts.items():
        require_file(path, f"text of {lang}")
    estimator = Estimator(model_dir, device, fp16, max_length)
    for lang in texts:
        if estimator.dictionary.index(f"[{lang}]") == estimator.dictionary.unk():
            raise InputError(f"--text {lang}=...: [{lang}] is not a language of {model_dir}; "
                             "use mBART codes such as en_XX, zh_CN")
    settings = {"model_dir": os.path.abspath(model_dir), "k": k, "max_sentences": max_sentences,
                "max_length": max_length, "centred": False, "pooling": "mean over x of 'x </s> [L]'",
                "texts": {lang: os.path.abspath(path) for lang, path in texts.items()}}
    partial_path = out + ".partial"
    state = {"settings": settings, "done": {}, "current": None}
    if os.path.exists(partial_path):
        saved = torch.load(partial_path, map_location="cpu", weights_only=True)
        if saved["settings"] == settings:
            state = saved
            logger.info("resuming from %s (%d languages done)", partial_path, len(state["done"]))

    def save_partial():
        with atomic_path(partial_path) as tmp:
            torch.save(state, tmp)

    for lang, path in texts.items():
        if lang in state["done"]:
            continue
        current = state["current"] if state["current"] and state["current"]["lang"] == lang else None
        gram = GramAccumulator(estimator.dim, *(current["gram"], current["count"]) if current else ())
        line_number = current["line"] if current else 0
        since_save, batch = 0, []
        bar = tqdm(total=max_sentences, initial=gram.count, desc=lang, unit=" sent", disable=not progress)
        for line_number, text in read_sentences(path, line_number, max_sentences - gram.count):
            batch.append(text)
            if len(batch) == batch_size:
                gram.add(estimator.sentence_vectors(batch, lang))
                bar.update(len(batch))
                since_save += len(batch)
                batch = []
                if since_save >= save_every:
                    state["current"] = {"lang": lang, "line": line_number, "gram": gram.gram, "count": gram.count}
                    save_partial()
                    since_save = 0
        if batch:
            gram.add(estimator.sentence_vectors(batch, lang))
            bar.update(len(batch))
        bar.close()
        if gram.count < k:
            raise InputFileError(path, f"{gram.count} non-empty sentences, fewer than --k {k}; "
                                       "pass more monolingual text")
        components, singular_values = gram.components(k)
        state["done"][lang] = {"components": components.float(), "singular_values": singular_values.float(),
                               "sentences": gram.count}
        state["current"] = None
        save_partial()
    encoder_state = estimator.model.encoder.state_dict()
    save_components(out, state["done"], estimator.dim, k,
                    file_sha256(os.path.join(model_dir, "model.pt")),
                    encoder_fingerprint(encoder_state, list(encoder_state)), settings)
    os.remove(partial_path)
    for lang, entry in state["done"].items():
        logger.info("%s: %d sentences, singular values %s", lang, entry["sentences"],
                    " ".join(f"{v:.1f}" for v in entry["singular_values"].tolist()))
    return state["done"]
