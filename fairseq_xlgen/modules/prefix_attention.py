"""Prefix keys/values in the self-attention of frozen fairseq Transformer layers (SGA Eq. 1, 3, 5).

Every SGA unit runs the frozen XLM-R layers with extra keys and values prepended in each
layer l: ``K = concat[prefix_K^l, x W_k^l]``, ``V = concat[prefix_V^l, x W_v^l]`` (prefix
tuning, Li & Liang 2021). The prefix lives in the projected key/value space, split into heads
like fairseq's own keys, so it is *not* passed through the layer's ``k_proj``/``v_proj``.

No weight is forked: fairseq's :class:`~fairseq.modules.MultiheadAttention` already concatenates
``prev_key``/``prev_value``/``prev_key_padding_mask`` from its ``incremental_state`` in front of
the keys it computes. :class:`PrefixInjector` puts a fresh ``incremental_state`` holding the
prefix into each layer's ``self_attn`` call through a forward pre-hook, so the backbone's own
``TransformerEncoder.forward`` (positions, padding, layer norms, dropout) runs unchanged.
"""
import contextlib
import functools
from typing import List, NamedTuple, Optional

import torch


class Prefix(NamedTuple):
    """One layer's prefix: ``key``/``value`` (B, P, d) in projected space, ``padding_mask`` (B, P) bool."""

    key: torch.Tensor
    value: torch.Tensor
    padding_mask: torch.Tensor


def concat_prefixes(first: Prefix, second: Prefix) -> Prefix:
    """``concat[first, second]`` along the prefix axis (Eq. 3/5: semantic prefix first, unit prompt second)."""
    return Prefix(torch.cat([first.key, second.key], 1), torch.cat([first.value, second.value], 1),
                  torch.cat([first.padding_mask, second.padding_mask], 1))


def prompt_prefix(key: torch.Tensor, value: torch.Tensor, batch_size: int) -> Prefix:
    """A trainable prompt (P, d) broadcast to the batch, never masked."""
    length = key.size(0)
    return Prefix(key.unsqueeze(0).expand(batch_size, -1, -1), value.unsqueeze(0).expand(batch_size, -1, -1),
                  torch.zeros(batch_size, length, dtype=torch.bool, device=key.device))


def prefix_incremental_state(attn, prefix: Prefix):
    """The ``incremental_state`` under which ``attn`` prepends ``prefix`` to its keys and values."""
    bsz, length, dim = prefix.key.shape
    heads = attn.num_heads
    split = lambda t: t.reshape(bsz, length, heads, dim // heads).transpose(1, 2).contiguous()  # noqa: E731
    state = {}
    attn._set_input_buffer(state, {
        "prev_key": split(prefix.key), "prev_value": split(prefix.value),
        "prev_key_padding_mask": prefix.padding_mask,
    })
    return state


class PrefixInjector:
    """Forward pre-hooks on the ``self_attn`` of ``layers`` that prepend per-layer prefixes.

    Use ``with injector.prefixes([Prefix per layer]): encoder(tokens)``; outside the ``with``
    block the layers behave exactly as the pretrained model.
    """

    def __init__(self, layers):
        self._prefixes: Optional[List[Prefix]] = None
        self._num_layers = len(layers)
        for index, layer in enumerate(layers):
            layer.self_attn.register_forward_pre_hook(functools.partial(self._hook, index), with_kwargs=True)

    def _hook(self, index, module, args, kwargs):
        if self._prefixes is None:
            return None
        if kwargs.get("incremental_state") is not None:
            raise RuntimeError("prefix attention: the layer already passes an incremental_state")
        kwargs["incremental_state"] = prefix_incremental_state(module, self._prefixes[index])
        return args, kwargs

    @contextlib.contextmanager
    def prefixes(self, prefixes: List[Prefix]):
        if len(prefixes) != self._num_layers:
            raise ValueError(f"prefix attention: {len(prefixes)} prefixes for {self._num_layers} layers")
        self._prefixes = prefixes
        try:
            yield
        finally:
            self._prefixes = None
