"""Sentence representations at LAFT's three stages (paper 001 Figure 2): the mBART encoder's
output, the language-agnostic representation after removal, and the output after fusion,
each mean-pooled over the sentence's own tokens (no padding, ``</s>`` or ``[lang]``); the
same pooling of any other encoder output (TM+adv's task module, for the language probe)."""
import torch

from fairseq_xlgen.modules.language_components import mean_pool, sentence_token_mask
from fairseq_xlgen.pretrained import mbart_source_tokens

STAGES = (("encoder output", "pre_removal"), ("after removal", "task_module_input"), ("after fusion", "encoder_out"))


@torch.no_grad()
def pooled_states(model, tokens, pad, keys, batch_size=64):
    """``{key: N×d float32}``: ``model.encoder``'s outputs ``keys`` of source-format token
    sequences ``x </s> [lang]``, mean-pooled, in evaluation mode (the model's mode is restored)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    rows = {key: [] for key in keys}
    try:
        for start in range(0, len(tokens), batch_size):
            batch = torch.nn.utils.rnn.pad_sequence(tokens[start:start + batch_size], batch_first=True,
                                                    padding_value=pad).to(device)
            out = model.encoder(batch, src_lengths=batch.ne(pad).sum(1))
            mask = sentence_token_mask(batch, model.encoder.special_token_ids)
            for key in keys:
                rows[key].append(mean_pool(out[key][0].float(), mask).cpu())
    finally:
        model.train(was_training)
    return {key: torch.cat(parts) for key, parts in rows.items()}


def pooled_laft_states(model, dictionary, piece_lines_by_lang, batch_size=64, max_positions=256):
    """``{stage title: (N×d float32 tensor, [language of each row])}`` for a LAFT model (eval mode)."""
    tokens, labels = [], []
    for lang, lines in piece_lines_by_lang.items():
        tokens += mbart_source_tokens(lines, dictionary, lang, max_positions)
        labels += [lang] * len(lines)
    states = pooled_states(model, tokens, dictionary.pad(), [key for _, key in STAGES], batch_size)
    return {title: (states[key], labels) for title, key in STAGES}
