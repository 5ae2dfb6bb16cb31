"""Sentence representations at LAFT's three stages (paper 001 Figure 2): the mBART encoder's
output, the language-agnostic representation after removal, and the output after fusion,
each mean-pooled over the sentence's own tokens (no padding, ``</s>`` or ``[lang]``)."""
import torch

from fairseq_xlgen.analysis.encoder_states import mbart_source_tokens
from fairseq_xlgen.modules.language_components import mean_pool, sentence_token_mask

STAGES = (("encoder output", "pre_removal"), ("after removal", "task_module_input"), ("after fusion", "encoder_out"))


@torch.no_grad()
def pooled_laft_states(model, dictionary, piece_lines_by_lang, batch_size=64, max_positions=256):
    """``{stage title: (N×d float32 tensor, [language of each row])}`` for a LAFT model (eval mode)."""
    model.eval()
    rows = {title: [] for title, _ in STAGES}
    labels = []
    for lang, lines in piece_lines_by_lang.items():
        tokens = mbart_source_tokens(lines, dictionary, lang, max_positions)
        for start in range(0, len(tokens), batch_size):
            batch = torch.nn.utils.rnn.pad_sequence(tokens[start:start + batch_size], batch_first=True,
                                                    padding_value=dictionary.pad())
            out = model.encoder(batch, src_lengths=batch.ne(dictionary.pad()).sum(1))
            mask = sentence_token_mask(batch, model.encoder.special_token_ids)
            for title, key in STAGES:
                rows[title].append(mean_pool(out[key][0].float(), mask))
            labels += [lang] * len(batch)
    return {title: (torch.cat(parts), labels) for title, parts in rows.items()}
