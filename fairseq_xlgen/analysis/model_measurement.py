"""One measure of every model of a curve (a pretrained directory and a run's checkpoints), cached per model.

Used by ``xlgen-xlrs compute`` (XLRS, paper 002 §4) and ``xlgen-xlrs distance`` (paper 004 Eq. 4). A
model's result is kept in a JSON cache under its absolute path with the file's identity (size, mtime)
and the measurement settings; a later call with the same settings reuses it, so an interrupted curve
resumes where it stopped.
"""
import json
import os
from typing import Callable, Dict, List, Optional, Sequence

from tqdm import tqdm

from fairseq_xlgen.analysis.checkpoints import ModelSource
from fairseq_xlgen.errors import InputError
from fairseq_xlgen.file_io import atomic_output
from fairseq_xlgen.pretrained import load_mbart


def model_cache_key(path: str, settings: dict) -> dict:
    """What must match for a cached result to be reused: the file's identity and the settings."""
    stat = os.stat(os.path.join(path, "model.pt") if os.path.isdir(path) else path)
    return {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size, "settings": settings}


def read_cache(path: str) -> Dict[str, dict]:
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{path}: not a JSON cache of model measurements; delete it to start afresh") from None


def write_json(path: str, payload) -> None:
    with atomic_output(path) as f:
        json.dump(payload, f, ensure_ascii=False, indent=1)
        f.write("\n")


def measure_models(sources: Sequence[ModelSource], measure: str, by_model: Callable, settings: dict,
                   cache_path: str, data: Optional[str] = None, device: str = "cpu", fp16: bool = False,
                   progress: bool = True) -> List[dict]:
    """``by_model(model, dictionary) -> {pair: value}`` for every source, as rows ``{model, name, kind,
    num_updates, <measure>}`` sorted by updates (the pretrained model first among equals)."""
    cache = read_cache(cache_path)
    rows = []
    for source in tqdm(sources, desc=measure, unit="model", disable=not progress):
        key = os.path.abspath(source.path)
        identity = model_cache_key(source.path, settings)
        cached = cache.get(key)
        if not (cached and all(cached.get(k) == v for k, v in identity.items())):
            try:
                model, dictionary, num_updates = load_mbart(source.path, data)
            except InputError:
                raise
            except (OSError, ValueError) as e:
                raise InputError(f"--models {source.path}: {e}; pass --data DIR when the training data moved") from None
            model = model.to(device)
            if fp16:
                model = model.half()
            try:
                scores = by_model(model, dictionary)
            except ValueError as e:
                raise InputError(f"--models {source.path}: {e}") from None
            cached = cache[key] = {**identity, "num_updates": num_updates, measure: scores}
            write_json(cache_path, cache)
        rows.append({"model": source.path, "name": source.name, "kind": source.kind,
                     "num_updates": cached["num_updates"], measure: cached[measure]})
    rows.sort(key=lambda r: (r["num_updates"], r["kind"] != "pretrained", r["name"]))
    return rows


def by_model_directory(rows: Sequence[dict], measure: str) -> Dict[str, dict]:
    """``{name of the model's directory: {pair: value}}`` of :func:`measure_models` rows (the ``models`` of
    xlgen-xlrs compute / distance --out), for models saved one per directory (``baseline/checkpoint_last.pt``)."""
    return {os.path.basename(os.path.dirname(row["model"])): row[measure] for row in rows}
