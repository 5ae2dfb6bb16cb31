"""Understanding tasks read as text to text (paper 002 §3, Table 10), so that the seq2seq finetune of
``multi_source_summarization`` and its XLRS checkpoints run on them unchanged.

Paper 002 casts every task for mT5 with its sentinel tokens. mBART has none, so one input field follows
the other after `` | `` and the output is the label, the tags or the answer as plain text:

* ``pos`` (UDPOS-like): the words, space-separated (unspaced scripts in their gold words) -> their tags;
* ``nli`` / ``paws`` (XNLI / PAWS-X-like): ``first | second`` -> the label as written in the label file
  (the same strings in every language: label overlap d = 100 %);
* ``qa`` (TyDiQA-GoldP-like): ``question | context`` -> the answer span.

Each task names the score its outputs get from :func:`fairseq_xlgen.analysis.scoring.score_outputs`, and
whether its outputs are written alike in every language (tags, labels): mBART then starts every output
with the training language's token (``multi_source_summarization --output-lang``), as mT5, which has no
language tokens, writes them alike; answers are in the document's language.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

SEPARATOR = " | "


@dataclass(frozen=True)
class TextToTextTemplate:
    """The input fields joined into the source, the field that is the target, and the score of outputs."""

    inputs: Tuple[str, ...]
    target: str
    metric: str
    language_neutral_output: bool


TEMPLATES: Dict[str, TextToTextTemplate] = {
    "pos": TextToTextTemplate(("words",), "tags", "tag_accuracy", language_neutral_output=True),
    "nli": TextToTextTemplate(("premise", "hypothesis"), "label", "accuracy", language_neutral_output=True),
    "paws": TextToTextTemplate(("sentence1", "sentence2"), "label", "accuracy", language_neutral_output=True),
    "qa": TextToTextTemplate(("question", "context"), "answer", "span_f1", language_neutral_output=False),
}


def text_to_text(template: TextToTextTemplate, read_field: Callable[[str], List[str]]) -> Tuple[List[str], List[str]]:
    """``(sources, targets)`` of one split, ``read_field(name)`` giving a field's lines; fields of unequal
    length raise ``ValueError`` naming them."""
    fields = {name: read_field(name) for name in (*template.inputs, template.target)}
    lengths = {name: len(lines) for name, lines in fields.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"fields of unequal length: {', '.join(f'{n} {k}' for n, k in lengths.items())} lines")
    sources = [SEPARATOR.join(parts) for parts in zip(*(fields[name] for name in template.inputs))]
    return sources, fields[template.target]
