"""xlgen-laft-tsne: t-SNE of sentence representations before removal, after removal and after
fusion of a LAFT checkpoint, coloured by language (paper 001 Figure 2), as a PNG.

    xlgen-laft-tsne --checkpoint laft/checkpoint_last.pt --spm mbart.cc25/sentence.bpe.model \\
        --text en_XX=test.en_XX zh_CN=test.zh_CN --out figure2.png
"""
import argparse
import json
import logging
import sys

from fairseq_xlgen.analysis.laft_representations import pooled_laft_states
from fairseq_xlgen.analysis.plots import plot_tsne_panels
from fairseq_xlgen.checkpoint_loading import load_model_checkpoint, saved_setting
from fairseq_xlgen.errors import InputError, InputFileError, exit_on_input_error
from fairseq_xlgen.file_io import atomic_output, check_output_path, iter_decoded_lines, require_file
from fairseq_xlgen.pretrained import load_sentencepiece


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="xlgen-laft-tsne", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a LAFT checkpoint (mbart_laft, --laft-variant laft)")
    parser.add_argument("--spm", required=True, help="the model's SentencePiece model (sentence.bpe.model)")
    parser.add_argument("--text", nargs="+", required=True, metavar="LANG=FILE", help="raw text per language")
    parser.add_argument("--max-sentences", type=int, default=300, help="first non-empty lines per language")
    parser.add_argument("--out", required=True, help="PNG path; the 2-D points are not kept, the settings go "
                                                    "to OUT.json")
    args = parser.parse_args(argv)
    if args.max_sentences < 2:
        parser.error(f"--max-sentences {args.max_sentences}: t-SNE needs at least 2 sentences per language")
    return args


def read_lines(path, limit):
    require_file(path, "text file")
    with open(path, "rb") as f:
        lines = [text.strip() for _, text in iter_decoded_lines(path, f) if text.strip()]
    return lines[:limit]


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(format="%(name)s | %(message)s", level=logging.INFO, stream=sys.stderr)
    args = parse_args(argv)
    from fairseq import checkpoint_utils

    check_output_path(args.out, "--out")
    if saved_setting(load_model_checkpoint(args.checkpoint, mmap=True), "laft_variant") != "laft":
        raise InputFileError(args.checkpoint, "not a LAFT checkpoint (--arch mbart_laft_*, --laft-variant laft); "
                                              "pass a checkpoint of LAFT stage 1 or 2")
    sp = load_sentencepiece(args.spm)
    pieces = {}
    for item in args.text:
        lang, sep, path = item.partition("=")
        if not sep:
            raise InputError(f"--text {item}: expected LANG=FILE")
        pieces[lang] = [" ".join(sp.encode(line, out_type=str)) for line in read_lines(path, args.max_sentences)]
    models, _, task = checkpoint_utils.load_model_ensemble_and_task([args.checkpoint])
    model = models[0]
    panels = pooled_laft_states(model, task.source_dictionary, pieces)
    plot_tsne_panels({title: (vectors.numpy(), labels) for title, (vectors, labels) in panels.items()}, args.out)
    with atomic_output(args.out + ".json") as f:
        json.dump({"checkpoint": args.checkpoint, "sentences": {k: len(v) for k, v in pieces.items()}}, f, indent=2)
    print(args.out)


if __name__ == "__main__":
    main()
