"""xlgen-spm-encode: encode text files into SentencePiece pieces.

One sentence per line in, the same line as space-separated pieces out (empty lines stay
empty, so parallel files stay aligned). Outputs are written atomically; an output newer
than its input and the model is skipped unless ``--force``.
"""
import argparse
import logging
import os

from tqdm import tqdm

from fairseq_xlgen.errors import exit_on_input_error
from fairseq_xlgen.file_io import atomic_output, iter_decoded_lines, refuse_directory, require_file
from fairseq_xlgen.pretrained import load_sentencepiece

logger = logging.getLogger("xlgen-spm-encode")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="xlgen-spm-encode", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="SentencePiece model (e.g. mbart.cc25/sentence.bpe.model)")
    parser.add_argument("--inputs", nargs="+", required=True, help="text files, one sentence per line")
    parser.add_argument("--outputs", nargs="+", required=True, help="one output file per input")
    parser.add_argument("--batch-lines", type=int, default=10000, help="lines encoded per call")
    parser.add_argument("--force", action="store_true", help="re-encode even if the outputs are up to date")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if len(args.inputs) != len(args.outputs):
        parser.error(f"{len(args.inputs)} --inputs but {len(args.outputs)} --outputs; give one output per input")
    return args


def is_up_to_date(output, sources):
    """True if ``output`` exists and is newer than every file in ``sources``."""
    return os.path.exists(output) and all(os.path.getmtime(output) > os.path.getmtime(s) for s in sources)


def encode_file(processor, input_path, output_path, batch_lines=10000, progress=True):
    """Encode ``input_path`` line by line into ``output_path`` (atomic); return the line count."""
    count = 0
    with open(input_path, "rb") as source, atomic_output(output_path) as target:
        batch = []
        lines = iter_decoded_lines(input_path, tqdm(source, desc=os.path.basename(input_path),
                                                    unit=" lines", disable=not progress))
        for count, line in lines:
            batch.append(line.rstrip("\r\n"))
            if len(batch) == batch_lines:
                _write_batch(processor, batch, target)
                batch = []
        _write_batch(processor, batch, target)
    return count


def _write_batch(processor, lines, target):
    for pieces in processor.encode(lines, out_type=str):
        target.write(" ".join(pieces) + "\n")


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(format="%(asctime)s | %(levelname)s | %(name)s | %(message)s", level=logging.INFO)
    args = parse_args(argv)
    require_file(args.model, "SentencePiece model")
    for input_path in args.inputs:
        require_file(input_path, "input text")
    for output_path in args.outputs:
        refuse_directory(output_path, "--outputs")  # missing directories are created, as the recipes expect
    processor = None
    for input_path, output_path in zip(args.inputs, args.outputs):
        if not args.force and is_up_to_date(output_path, (input_path, args.model)):
            logger.info("%s is up to date, skipped (use --force to re-encode)", output_path)
            continue
        if processor is None:
            processor = load_sentencepiece(args.model)
        count = encode_file(processor, input_path, output_path, args.batch_lines, not args.no_progress)
        logger.info("encoded %d lines: %s -> %s", count, input_path, output_path)


if __name__ == "__main__":
    main()
