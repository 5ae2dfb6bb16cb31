"""Synthetic multilingual benchmark: artificial languages that share one meaning space.

The four languages borrow mBART-cc25 codes (en_XX, de_DE, ru_RU, zh_CN) so that the
pretrained-model plumbing (language tokens such as ``[de_DE]``) works unchanged; they are
artificial languages, NOT English, German, Russian or Chinese. A meaning (a small
structured record) is rendered into every language with that language's lexicon, word
order, morphology and script. Meanings are not independent draws: a latent topic per
sentence (per document in mono and summarization) decides which concepts co-occur, so every
language inherits the same co-occurrence statistics and word embeddings trained on each
language's monolingual text are approximately isomorphic (what unsupervised lexicon induction
needs). Every random choice comes from a named stream derived from the seed, so equal
(seed, size) give byte-identical files, and a language's files do not depend on which other
languages are generated. The format is in docs/synthetic_benchmark.md.
"""
import contextlib
import functools
import gc
import itertools
import json
import operator
import os
import shutil
import tempfile

from tqdm import tqdm

from fairseq_xlgen.file_io import replace_directory
from fairseq_xlgen.testbed.languages import LANGUAGE_SPECS, Lexicon, gold_pairs
from fairseq_xlgen.testbed.meanings import (
    DOMAIN_EXPONENT, IN_DOMAIN_TOPIC_SHARE, PLURAL_CLAUSE_SHARE, TOPIC_NOISE, TOPICS_PER_CONCEPT, ConceptSpace,
    MeaningSampler, draw_unique, stream_rng,
)
from fairseq_xlgen.testbed.understanding_tasks import TASKS as UNDERSTANDING_TASKS

GENERATOR_VERSION = 3  # 2: topics, clause number, multi-sentence mono documents, no reserved words;
#                        3: understanding tasks (pos, nli, paws, qa); earlier files unchanged
META_NOTE = ("artificial languages that borrow mBART-cc25 codes; gold lexicon lines pair the forms of one "
             "concept with equal features (lemmas, inflections, names, numerals, 'and'), attested in the "
             "mono/parallel text of both languages")
LANGUAGES = ("en_XX", "de_DE", "ru_RU", "zh_CN")
SPLITS = ("train", "valid", "test")
EVAL_SPLITS = ("test", "valid")
SIZES = {  # "understanding": the tasks of understanding_tasks.py, which need more training examples to be learnt
    "tiny": {"concepts": 200, "mono": 300,
             "parallel": {"train": 200, "valid": 50, "test": 50},
             "tasks": {"train": 200, "valid": 40, "test": 40},
             "understanding": {"train": 200, "valid": 40, "test": 40}},
    "small": {"concepts": 1000, "mono": 5000,
              "parallel": {"train": 2000, "valid": 200, "test": 200},
              "tasks": {"train": 2000, "valid": 200, "test": 200},
              "understanding": {"train": 20000, "valid": 200, "test": 200}},
    "base": {"concepts": 4000, "mono": 50000,
             "parallel": {"train": 20000, "valid": 500, "test": 500},
             "tasks": {"train": 20000, "valid": 500, "test": 500},
             "understanding": {"train": 100000, "valid": 500, "test": 500}},
}
MONO_QUESTION_SHARE = 0.1  # monolingual text mixes in questions like the title task's (share of sentences)
MONO_SENTENCES = (1, 3)  # sentences per monolingual line (a short document on one topic)


def build_lexica(seed, size, langs=LANGUAGES):
    """The concept space and one Lexicon per language for (seed, size)."""
    space = ConceptSpace.build(seed, SIZES[size]["concepts"])
    return space, {code: Lexicon(LANGUAGE_SPECS[code], space, seed) for code in langs}


def load_gold_lexicon(path):
    """Read a ``src<TAB>tgt`` lexicon into {source word: [target words in file order]}."""
    lexicon = {}
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 2:
                raise ValueError(f"{path}:{line_number}: expected 'source<TAB>target', got {line!r}")
            targets = lexicon.setdefault(fields[0], [])
            if fields[1] not in targets:
                targets.append(fields[1])
    return lexicon


# -------------------------------------------------------------------------- corpora
def segmentation_path(path):
    """Where the space-separated gold segmentation of an unspaced (zh_CN) file lives."""
    return path[: -len(".txt")] + ".words.txt" if path.endswith(".txt") else path + ".words"


def _task_examples(seed, task, draw, sizes, langs):
    """``(language, {split: examples})`` of one task: valid and test hold the same examples in every language
    (scores are comparable), train each language's own, disjoint from them."""
    shared = set()
    splits = {split: draw_unique(stream_rng(seed, task, split), draw, sizes[split], shared) for split in EVAL_SPLITS}
    for code in langs:
        yield code, dict(splits, train=draw_unique(stream_rng(seed, task, "train", code), draw, sizes["train"],
                                                   set(shared)))


def _build_files(seed, size, langs, progress):
    """All output files as {relative path: lines}."""
    counts = SIZES[size]
    bar = tqdm(total=3 + 3 * len(langs) + len(UNDERSTANDING_TASKS), desc=f"synthetic benchmark ({size})",
               unit="corpus", disable=not progress)
    space, lexica = build_lexica(seed, size, langs)
    sampler = MeaningSampler(space)
    files, vocabulary = {}, {code: set() for code in langs}

    def add(path, code, token_lists, attested=False):
        lexicon = lexica[code]
        files[path] = [lexicon.text(tokens) for tokens in token_lists]
        if lexicon.spec.joiner != " ":
            files[segmentation_path(path)] = [" ".join(tokens) for tokens in token_lists]
        if attested:
            vocabulary[code].update(token for tokens in token_lists for token in tokens)

    for code in langs:
        rng, lexicon = stream_rng(seed, "mono", code), lexica[code]
        mono = [[token for meaning in sampler.document(rng, MONO_SENTENCES)
                 for token in (lexicon.question if rng.random() < MONO_QUESTION_SHARE else lexicon.sentence)(meaning)]
                for _ in range(counts["mono"])]
        add(f"mono/{code}.txt", code, mono, attested=True)
        bar.update()

    seen = set()  # one multi-way parallel corpus; splits are disjoint
    for split in EVAL_SPLITS + ("train",):
        meanings = draw_unique(stream_rng(seed, "parallel", split), sampler.meaning, counts["parallel"][split], seen)
        sentences = {code: [lexica[code].sentence(m) for m in meanings] for code in langs}
        for l1, l2 in itertools.combinations(sorted(langs), 2):
            for code in (l1, l2):
                add(f"parallel/{split}.{l1}-{l2}.{code}", code, sentences[code], attested=True)
        for src, tgt in itertools.permutations(langs, 2):
            for code in (src, tgt):
                add(f"tasks/translation/{src}-{tgt}/{split}.{code}", code, sentences[code])
        bar.update()

    tasks = {"summarization": (sampler.document, Lexicon.document, Lexicon.summary),
             "title": (sampler.meaning, Lexicon.sentence, Lexicon.question)}
    for task, (draw, source, target) in tasks.items():
        for code, splits in _task_examples(seed, task, draw, counts["tasks"], langs):
            for split, items in splits.items():
                add(f"tasks/{task}/{code}/{split}.source", code, [source(lexica[code], x) for x in items])
                add(f"tasks/{task}/{code}/{split}.target", code, [target(lexica[code], x) for x in items])
            bar.update()

    for task, understanding in UNDERSTANDING_TASKS.items():
        draw = functools.partial(understanding.draw, sampler=sampler)
        for code, splits in _task_examples(seed, task, draw, counts["understanding"], langs):
            for split, examples in splits.items():
                rendered = [understanding.render(lexica[code], example) for example in examples]
                for field in understanding.fields:
                    path, values = f"tasks/{task}/{code}/{split}.{field}", [fields[field] for fields in rendered]
                    if isinstance(values[0], str):
                        files[path] = values
                    else:
                        add(path, code, values)
        bar.update()

    for src, tgt in itertools.permutations(langs, 2):
        pairs = gold_pairs(lexica[src], lexica[tgt], vocabulary[src], vocabulary[tgt])
        files[f"lexicon/{src}-{tgt}.gold.tsv"] = [f"{s}\t{t}" for s, t in pairs]
    bar.close()
    return files, space


@contextlib.contextmanager
def _gc_paused():
    """Millions of small live tuples make the cyclic garbage collector the main cost."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------- output
def check_arguments(seed, size, langs):
    """(seed, canonical language tuple); one-line ValueErrors for bad values."""
    try:
        seed = operator.index(seed)
    except TypeError:
        raise ValueError(f"invalid --seed {seed!r}; expected an integer") from None
    if size not in SIZES:
        raise ValueError(f"unknown --size {size!r}; allowed: {', '.join(SIZES)}")
    if langs is None:
        return seed, LANGUAGES
    codes = [code.strip() for code in (langs.split(",") if isinstance(langs, str) else langs)]
    unknown = [code for code in codes if code not in LANGUAGES]
    if unknown or not codes:
        raise ValueError(f"invalid --langs value {','.join(codes)!r}: unknown code(s) {','.join(unknown)!r}; "
                         f"allowed: {','.join(LANGUAGES)} (comma-separated, at least one)")
    return seed, tuple(code for code in LANGUAGES if code in codes)


def generate_benchmark(out_dir, seed=1, size="small", langs=None, progress=True, force=False):
    """Write the benchmark into `out_dir` atomically and return its meta (see module docstring).

    An `out_dir` holding a benchmark of the same settings is returned as is (cache); one of
    other settings raises FileExistsError unless `force`. Anything else that is not an empty
    directory is never replaced.
    """
    seed, langs = check_arguments(seed, size, langs)
    settings = {"generator_version": GENERATOR_VERSION, "seed": seed, "size": size, "langs": list(langs)}
    existing = _read_meta(out_dir)
    if existing is not None and not force and {key: existing.get(key) for key in settings} == settings:
        return existing
    if existing is None and os.path.lexists(out_dir) and not (os.path.isdir(out_dir) and not os.listdir(out_dir)):
        raise FileExistsError(f"{out_dir} exists and is not a synthetic benchmark directory; "
                              "refusing to replace it (choose another --out)")
    if existing is not None and not force:
        old_settings = {key: existing.get(key) for key in settings}
        raise FileExistsError(f"{out_dir} holds a benchmark with other settings {old_settings}; "
                              "pass force=True (--force) to replace it")
    with _gc_paused():
        files, space = _build_files(seed, size, langs, progress)
    meta = dict(settings, note=META_NOTE, sizes=SIZES[size], concepts=space.counts,
                cooccurrence={"topics": space.n_topics, "topics_per_concept": TOPICS_PER_CONCEPT,
                              "domains": len(space.domains), "domain_exponent": DOMAIN_EXPONENT,
                              "in_domain_topic_share": IN_DOMAIN_TOPIC_SHARE, "topic_noise": TOPIC_NOISE,
                              "plural_clause_share": PLURAL_CLAUSE_SHARE,
                              "mono_sentences_per_line": list(MONO_SENTENCES)},
                languages={code: LANGUAGE_SPECS[code].describe() for code in langs},
                segmentation={path: segmentation_path(path) for path in sorted(files)
                              if segmentation_path(path) in files},
                files={path: len(lines) for path, lines in sorted(files.items())})
    _write_atomically(out_dir, files, meta)
    return _read_meta(out_dir)


def _read_meta(out_dir):
    """The meta.json of a benchmark directory, or None."""
    try:
        with open(os.path.join(out_dir, "meta.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and "generator_version" in meta else None


def _write_atomically(out_dir, files, meta):
    """Write into a temporary sibling directory, then swap it into place."""
    out_dir = os.path.abspath(out_dir)
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.tmp-", dir=os.path.dirname(out_dir))
    try:
        for path, lines in files.items():
            full_path = os.path.join(tmp_dir, path)
            os.makedirs(os.path.dirname(full_path), exist_ok=True)
            with open(full_path, "w", encoding="utf-8", newline="\n") as f:
                f.writelines(line + "\n" for line in lines)
        with open(os.path.join(tmp_dir, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1, ensure_ascii=False)
            f.write("\n")
        replace_directory(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
