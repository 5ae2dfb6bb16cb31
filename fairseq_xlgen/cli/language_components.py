"""xlgen-language-components: estimate LAFT's language components c_L (paper 001 §3.1 step 1).

Runs the pretrained mBART encoder over each language's monolingual text (source format
``x </s> [L]``), mean-pools each sentence's token states (not padding, ``</s>`` or ``[L]``),
sums the Gram matrix M_Lᵀ M_L of those sentence vectors in float64 (memory O(d²) for any
number of sentences) and keeps its top-k eigenvectors, the first k right singular vectors
of M_L (uncentred, as in LIR). Output: one file for all languages, written atomically (see
:mod:`fairseq_xlgen.data.language_components_file`). Killed and restarted with the same
arguments, it resumes from ``OUT.partial`` (saved every ``--save-every`` sentences).

    xlgen-language-components --model-dir mbart.cc25 --out components.pt \\
        --text en_XX=cc100.en.txt zh_CN=cc100.zh.txt --max-sentences 1000000
"""
import argparse
import logging
import os
import sys

import torch
from tqdm import tqdm

from fairseq_xlgen.analysis.encoder_states import mbart_source_tokens
from fairseq_xlgen.data.language_components_file import encoder_fingerprint, save_components
from fairseq_xlgen.file_io import (InputError, InputFileError, atomic_path, exit_on_input_error, file_sha256,
                                   positive_int, refuse_directory, require_file)
from fairseq_xlgen.lexicon.embeddings_io import iter_decoded_lines
from fairseq_xlgen.modules.language_components import (GramAccumulator, mean_pool, sentence_token_mask,
                                                       special_token_ids)
from fairseq_xlgen.pretrained import MBART_LAYOUT, load_pretrained, load_sentencepiece

logger = logging.getLogger("xlgen-language-components")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="xlgen-language-components", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True, help="mbart.cc25-format directory (model.pt, dict.txt, "
                                                           "sentence.bpe.model)")
    parser.add_argument("--text", nargs="+", required=True, metavar="LANG=FILE",
                        help="monolingual text per language, one sentence per line (e.g. en_XX=mono/en_XX.txt)")
    parser.add_argument("--out", required=True, help="output file (e.g. components.pt)")
    parser.add_argument("--k", type=positive_int, default=6, help="components per language (paper: 6)")
    parser.add_argument("--max-sentences", type=positive_int, default=1_000_000,
                        help="sentences per language (paper: 1M); the first non-empty lines are used")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="sentences per encoder batch")
    parser.add_argument("--max-length", type=positive_int, default=256, help="pieces kept per sentence")
    parser.add_argument("--save-every", type=positive_int, default=20000, help="sentences between resume points")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--fp16", action="store_true", help="run the encoder in fp16 (the Gram sum stays float64)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    texts = {}
    for item in args.text:
        lang, sep, path = item.partition("=")
        if not sep or not lang or not path:
            parser.error(f"--text {item}: expected LANG=FILE, e.g. en_XX=mono/en_XX.txt")
        texts[lang] = path
    args.texts = texts
    return args


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


def estimate(args):
    refuse_directory(args.out, "--out")
    for lang, path in args.texts.items():
        require_file(path, f"text of {lang}")
    estimator = Estimator(args.model_dir, args.device, args.fp16, args.max_length)
    for lang in args.texts:
        if estimator.dictionary.index(f"[{lang}]") == estimator.dictionary.unk():
            raise InputError(f"--text {lang}=...: [{lang}] is not a language of {args.model_dir}; "
                             "use mBART codes such as en_XX, zh_CN")
    settings = {"model_dir": os.path.abspath(args.model_dir), "k": args.k, "max_sentences": args.max_sentences,
                "max_length": args.max_length, "centred": False, "pooling": "mean over x of 'x </s> [L]'",
                "texts": {lang: os.path.abspath(path) for lang, path in args.texts.items()}}
    partial_path = args.out + ".partial"
    state = {"settings": settings, "done": {}, "current": None}
    if os.path.exists(partial_path):
        saved = torch.load(partial_path, map_location="cpu", weights_only=True)
        if saved["settings"] == settings:
            state = saved
            logger.info("resuming from %s (%d languages done)", partial_path, len(state["done"]))

    def save_partial():
        with atomic_path(partial_path) as tmp:
            torch.save(state, tmp)

    for lang, path in args.texts.items():
        if lang in state["done"]:
            continue
        current = state["current"] if state["current"] and state["current"]["lang"] == lang else None
        gram = GramAccumulator(estimator.dim, *(current["gram"], current["count"]) if current else ())
        line_number = current["line"] if current else 0
        since_save, batch = 0, []
        bar = tqdm(total=args.max_sentences, initial=gram.count, desc=lang, unit=" sent", disable=args.no_progress)
        for line_number, text in read_sentences(path, line_number, args.max_sentences - gram.count):
            batch.append(text)
            if len(batch) == args.batch_size:
                gram.add(estimator.sentence_vectors(batch, lang))
                bar.update(len(batch))
                since_save += len(batch)
                batch = []
                if since_save >= args.save_every:
                    state["current"] = {"lang": lang, "line": line_number, "gram": gram.gram, "count": gram.count}
                    save_partial()
                    since_save = 0
        if batch:
            gram.add(estimator.sentence_vectors(batch, lang))
            bar.update(len(batch))
        bar.close()
        if gram.count < args.k:
            raise InputFileError(path, f"{gram.count} non-empty sentences, fewer than --k {args.k}; "
                                       "pass more monolingual text")
        components, singular_values = gram.components(args.k)
        state["done"][lang] = {"components": components.float(), "singular_values": singular_values.float(),
                               "sentences": gram.count}
        state["current"] = None
        save_partial()
    encoder_state = estimator.model.encoder.state_dict()
    save_components(args.out, state["done"], estimator.dim, args.k,
                    file_sha256(os.path.join(args.model_dir, "model.pt")),
                    encoder_fingerprint(encoder_state, list(encoder_state)), settings)
    os.remove(partial_path)
    for lang, entry in state["done"].items():
        logger.info("%s: %d sentences, singular values %s", lang, entry["sentences"],
                    " ".join(f"{v:.1f}" for v in entry["singular_values"].tolist()))
    return state["done"]


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(format="%(name)s | %(message)s", level=logging.INFO, stream=sys.stderr)
    args = parse_args(argv)
    estimate(args)
    print(args.out)


if __name__ == "__main__":
    main()
