"""The language-components file of ``xlgen-language-components`` (LAFT, paper 001 §3.1).

One ``torch.save`` file (tensors, dicts, strings and numbers only, so it loads with
``weights_only=True``)::

    {"format": "xlgen-language-components", "version": 1,
     "embed_dim": d, "k": k, "model_sha256": sha256 of model.pt,
     "encoder_fingerprint": sha256 of the encoder's weights (see encoder_fingerprint),
     "settings": {...}, "languages": {"en_XX": {"components": d×k float32,
                                                "singular_values": k, "sentences": n}, ...}}

The encoder fingerprint lets a LAFT model check that the file was estimated with the same
frozen encoder it has, whichever checkpoint (mbart.cc25, a stage-1 or stage-2 checkpoint) the
weights come from.
"""
import hashlib

import torch

from fairseq_xlgen.errors import InputFileError
from fairseq_xlgen.file_io import atomic_path

FORMAT = "xlgen-language-components"
VERSION = 1


def encoder_fingerprint(state_dict, keys):
    """sha256 over the float32 bytes of ``state_dict[key]`` for the sorted ``keys``."""
    digest = hashlib.sha256()
    for key in sorted(keys):
        digest.update(key.encode())
        digest.update(state_dict[key].detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def save_components(path, languages, embed_dim, k, model_sha256, fingerprint, settings):
    payload = {"format": FORMAT, "version": VERSION, "embed_dim": embed_dim, "k": k,
               "model_sha256": model_sha256, "encoder_fingerprint": fingerprint,
               "settings": settings, "languages": languages}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_components(path):
    """Read and check the file's structure; one-line :class:`InputFileError` on anything wrong."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputFileError(path, "language-components file not found; run xlgen-language-components") from None
    except Exception as error:  # truncated or foreign pickle: torch raises many types
        raise InputFileError(path, f"not a readable language-components file ({type(error).__name__}); "
                                   "re-run xlgen-language-components") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputFileError(path, "not a language-components file; pass the output of xlgen-language-components")
    d, k = payload["embed_dim"], payload["k"]
    for lang, entry in payload["languages"].items():
        shape = tuple(entry["components"].shape)
        if shape != (d, k) or not torch.isfinite(entry["components"]).all():
            raise InputFileError(path, f"components of {lang} have shape {shape} or non-finite values, "
                                       f"expected finite ({d}, {k}); re-run xlgen-language-components")
    return payload


def components_for(payload, path, langs, embed_dim, k):
    """Stack c_L of ``langs`` (len(langs)×d×k); one-line errors for a wrong d or k or a missing language."""
    if payload["embed_dim"] != embed_dim:
        raise InputFileError(path, f"components of dimension {payload['embed_dim']}, the model has "
                                   f"{embed_dim}; estimate them with this model")
    if payload["k"] < k:
        raise InputFileError(path, f"holds k={payload['k']} components per language, --laft-k is {k}; "
                                   f"lower --laft-k or re-run xlgen-language-components --k {k}")
    missing = [lang for lang in langs if lang not in payload["languages"]]
    if missing:
        raise InputFileError(path, f"no components for {','.join(missing)} (has "
                                   f"{','.join(payload['languages'])}); estimate them with "
                                   f"xlgen-language-components --text {missing[0]}=FILE ...")
    return torch.stack([payload["languages"][lang]["components"][:, :k].float() for lang in langs])
