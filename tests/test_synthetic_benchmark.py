"""The synthetic benchmark: determinism, alignment, gold lexicons, scripts, word orders, tasks, CLI."""
import itertools
import json
import os
import subprocess
import sys
import unicodedata

import pytest

from fairseq_xlgen.cli.make_benchmark import main as make_benchmark_main
from fairseq_xlgen.testbed.meanings import (
    RESERVED_WORDS, Clause, ConceptSpace, Meaning, MeaningSampler, NounPhrase, stream_rng,
)
from fairseq_xlgen.testbed.synthetic_benchmark import (
    LANGUAGES, SIZES, SPLITS, build_lexica, generate_benchmark, load_gold_lexicon, segmentation_path,
)

TINY = SIZES["tiny"]
SPACED = ("en_XX", "de_DE", "ru_RU")


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic") / "bench"
    return out, generate_benchmark(out, seed=1, size="tiny", progress=False)


def all_files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def lines(root, relative_path):
    return (root / relative_path).read_text(encoding="utf-8").splitlines()


def tokenized(root, relative_path):
    """Token lists of a file, through its gold segmentation where it has one (zh_CN)."""
    words_path = segmentation_path(relative_path)
    return [line.split() for line in lines(root, words_path if (root / words_path).exists() else relative_path)]


def parallel_path(split, code, other):
    l1, l2 = sorted((code, other))
    return f"parallel/{split}.{l1}-{l2}.{code}"


def vocabulary(root, code):
    """Every token of a language's mono and parallel text."""
    paths = [f"mono/{code}.txt"] + [parallel_path(split, code, other)
                                     for split in SPLITS for other in LANGUAGES if other != code]
    return {token for path in paths for tokens in tokenized(root, path) for token in tokens}


def coverage(lexicon, source_lines, target_lines):
    """Fraction of target words (without final punctuation) that translate a source word."""
    covered = total = 0
    for source, target in zip(source_lines, target_lines):
        translations = {t for word in source for t in lexicon.get(word, ())}
        covered += sum(word in translations for word in target[:-1])
        total += len(target) - 1
    return covered / total


def test_same_seed_gives_identical_bytes_and_another_seed_differs(bench, tmp_path):
    out, _ = bench
    generate_benchmark(tmp_path / "same", seed=1, size="tiny", progress=False)
    generate_benchmark(tmp_path / "other", seed=2, size="tiny", progress=False)
    first, other = all_files(out), all_files(tmp_path / "other")
    assert all_files(tmp_path / "same") == first
    assert other.keys() == first.keys()
    differing = {path for path in first if first[path] != other[path]}
    assert {"mono/en_XX.txt", "mono/zh_CN.txt", "lexicon/en_XX-ru_RU.gold.tsv",
            "tasks/title/de_DE/test.target"} <= differing


def test_meta_lists_every_file_with_its_line_count(bench):
    out, meta = bench
    assert set(all_files(out)) == set(meta["files"]) | {"meta.json"}
    for path, count in meta["files"].items():
        assert len(lines(out, path)) == count, path
    assert meta["langs"] == list(LANGUAGES) and set(meta["languages"]) == set(LANGUAGES)
    assert meta["files"]["mono/ru_RU.txt"] == TINY["mono"]
    assert meta["files"]["mono/zh_CN.words.txt"] == TINY["mono"]
    for split in SPLITS:
        assert meta["files"][f"parallel/{split}.de_DE-zh_CN.zh_CN"] == TINY["parallel"][split]
        assert meta["files"][f"tasks/summarization/ru_RU/{split}.source"] == TINY["tasks"][split]
    directions = {path.split("/")[2] for path in meta["files"] if path.startswith("tasks/translation/")}
    assert directions == {f"{src}-{tgt}" for src, tgt in itertools.permutations(LANGUAGES, 2)}


def test_language_subset_reproduces_the_full_run(bench, tmp_path):
    out, _ = bench
    meta = generate_benchmark(tmp_path / "subset", seed=1, size="tiny", langs="zh_CN,en_XX", progress=False)
    assert meta["langs"] == ["en_XX", "zh_CN"]
    for path in ("mono/en_XX.txt", "mono/zh_CN.words.txt", "parallel/valid.en_XX-zh_CN.zh_CN",
                 "tasks/title/en_XX/train.source", "lexicon/en_XX-zh_CN.gold.tsv"):
        assert (tmp_path / "subset" / path).read_bytes() == (out / path).read_bytes(), path
    assert not (tmp_path / "subset" / "mono" / "de_DE.txt").exists()


def test_cache_conflict_and_force(tmp_path):
    out = tmp_path / "bench"
    meta = generate_benchmark(out, seed=1, size="tiny", langs=["en_XX", "de_DE"], progress=False)
    marker = out / "mono" / "en_XX.txt"
    os.utime(marker, (0, 0))  # a regeneration would give it a new modification time
    assert generate_benchmark(out, seed=1, size="tiny", langs="de_DE,en_XX", progress=False) == meta
    assert marker.stat().st_mtime == 0
    with pytest.raises(FileExistsError, match="force"):
        generate_benchmark(out, seed=2, size="tiny", langs="en_XX,de_DE", progress=False)
    assert generate_benchmark(out, seed=2, size="tiny", langs="en_XX,de_DE", progress=False, force=True)["seed"] == 2
    assert json.loads((out / "meta.json").read_text(encoding="utf-8"))["seed"] == 2
    assert marker.stat().st_mtime != 0
    assert os.listdir(tmp_path) == ["bench"]  # no temporary directories left behind


def test_never_replaces_a_foreign_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not a synthetic benchmark"):
        generate_benchmark(tmp_path, size="tiny", progress=False, force=True)
    assert os.listdir(tmp_path) == ["keep.txt"]


@pytest.mark.parametrize("kwargs, flag, allowed", [
    ({"size": "huge"}, "--size 'huge'", "allowed: tiny, small, base"),
    ({"langs": "en_XX,xx_YY"}, "--langs value 'en_XX,xx_YY'", "allowed: " + ",".join(LANGUAGES)),
    ({"seed": "1"}, "--seed '1'", "integer"),
])
def test_bad_arguments_are_one_line_value_errors(tmp_path, kwargs, flag, allowed):
    with pytest.raises(ValueError) as error:
        generate_benchmark(tmp_path / "bench", progress=False, **dict({"size": "tiny"}, **kwargs))
    message = str(error.value)
    assert "\n" not in message and flag in message and allowed in message
    assert os.listdir(tmp_path) == []


def test_parallel_and_translation_files_align(bench):
    out, _ = bench
    for src, tgt in itertools.permutations(LANGUAGES, 2):
        for split in SPLITS:
            source, target = lines(out, parallel_path(split, src, tgt)), lines(out, parallel_path(split, tgt, src))
            assert len(source) == len(target) == TINY["parallel"][split]
            assert lines(out, f"tasks/translation/{src}-{tgt}/{split}.{src}") == source
            assert lines(out, f"tasks/translation/{src}-{tgt}/{split}.{tgt}") == target
    test_meanings = set(lines(out, "parallel/test.de_DE-en_XX.en_XX"))
    assert not test_meanings & set(lines(out, "parallel/train.de_DE-en_XX.en_XX"))


def test_gold_lexicon_entries_occur_in_both_languages(bench):
    out, _ = bench
    vocabularies = {code: vocabulary(out, code) for code in LANGUAGES}
    for src, tgt in itertools.permutations(LANGUAGES, 2):
        lexicon = load_gold_lexicon(out / f"lexicon/{src}-{tgt}.gold.tsv")
        assert len(lexicon) > 150
        assert set(lexicon) <= vocabularies[src]
        assert {word for targets in lexicon.values() for word in targets} <= vocabularies[tgt]


@pytest.mark.parametrize("tgt, threshold", [("de_DE", 0.99), ("ru_RU", 0.99), ("zh_CN", 0.75)])
def test_word_by_word_translation_covers_the_target(bench, tgt, threshold):
    """Everything but zh_CN's particles translates; shifted (wrong) pairs cover far less."""
    out, _ = bench
    lexicon = load_gold_lexicon(out / f"lexicon/en_XX-{tgt}.gold.tsv")
    source = tokenized(out, parallel_path("train", "en_XX", tgt))
    target = tokenized(out, parallel_path("train", tgt, "en_XX"))
    assert coverage(lexicon, source, target) >= threshold
    assert coverage(lexicon, source, target[1:]) < 0.2


REPR_LEAKS = ("None", "True", "False", "nan", "inf", "null", "object at 0x", "()", "[]", "{}", "''")


def test_no_python_literal_or_repr_in_any_file(bench):
    """No token reads as a Python/JSON literal (a name "None" once looked like str(None))."""
    out, _ = bench
    for path, content in all_files(out).items():
        if path == "meta.json":
            continue
        text = content.decode("utf-8")
        tokens = {token for line in text.splitlines() for field in line.split("\t") for token in field.split()}
        assert not {token.lower() for token in tokens} & RESERVED_WORDS, path
        assert not any(leak in text for leak in REPR_LEAKS), path
        assert not set(text) & set("()[]{}<>'\"\\"), path


@pytest.mark.parametrize("size", list(SIZES))
def test_no_word_of_any_lexicon_is_reserved(size):
    """Every coined word and name, in every form, of every language (seed 1 small once had "None")."""
    for seed in (1, 2, 3):
        _, lexica = build_lexica(seed, size)
        forms = {form.lower() for lexicon in lexica.values() for concepts in lexicon.forms.values()
                 for concept in concepts for form in concept.values()}
        forms |= {particle.lower() for lexicon in lexica.values() for particle in lexicon.particles.values()}
        assert not forms & RESERVED_WORDS, (size, seed)


def test_meanings_cluster_by_topic():
    """Concepts co-occur with the members of their topics, the same way in every language."""
    space = ConceptSpace.build(1, SIZES["small"]["concepts"])
    sampler, rng = MeaningSampler(space), stream_rng(1, "test")
    same_topic = total = 0
    for _ in range(500):
        clause = sampler.meaning(rng).clauses[0]
        if clause.subject.is_name or clause.obj.is_name:
            continue
        total += 1
        subject_topics, object_topics = space.topics["noun"][clause.subject.head], space.topics["noun"][clause.obj.head]
        same_topic += bool(set(subject_topics) & set(object_topics))
    # independent draws would share a topic with P ~ 1 - (1 - 4/125)^4 = 0.12
    assert same_topic / total > 0.8


def test_documents_keep_one_topic_and_clauses_agree_in_number():
    space = ConceptSpace.build(1, SIZES["small"]["concepts"])
    sampler, rng = MeaningSampler(space), stream_rng(1, "test")
    agree = total = 0
    for _ in range(300):
        verbs = [clause.verb for meaning in sampler.document(rng) for clause in meaning.clauses]
        total += 1  # a verb drawn without regard to the topic (TOPIC_NOISE) may break the chain
        agree += bool(set.intersection(*(set(space.topics["verb"][verb]) for verb in verbs)))
    assert agree / total > 0.6  # independent draws: < 0.01
    plural_pairs = [(c.subject.plural, c.obj.plural) for _ in range(2000) for c in sampler.meaning(rng).clauses
                    if not c.subject.is_name and not c.obj.is_name]
    assert sum(s == o for s, o in plural_pairs) / len(plural_pairs) > 0.85  # independent: ~0.55


def scripts_of(text):
    """Unicode script families (first word of the character name) of the letters in `text`."""
    return {unicodedata.name(char).split()[0] for char in text if char.isalpha()}


def test_scripts(bench):
    out, meta = bench
    expected = {"en_XX": {"LATIN"}, "de_DE": {"LATIN"}, "ru_RU": {"CYRILLIC"}, "zh_CN": {"CJK"}}
    for code in LANGUAGES:
        paths = [f"mono/{code}.txt", parallel_path("test", code, "en_XX" if code != "en_XX" else "de_DE"),
                 f"tasks/summarization/{code}/valid.source", f"tasks/title/{code}/test.target"]
        for path in paths:
            text = (out / path).read_text(encoding="utf-8")
            assert scripts_of(text) == expected[code], path
            if code == "zh_CN":
                assert " " not in text
                assert [line.replace(" ", "") for line in lines(out, segmentation_path(path))] == lines(out, path)
    assert meta["languages"]["zh_CN"]["spaces_between_words"] is False


def test_word_orders_differ():
    """The same meaning puts the verb second (en_XX, zh_CN) or last (de_DE, ru_RU)."""
    space, lexica = build_lexica(1, "tiny")
    clause = Clause(subject=NounPhrase(0), verb=0, obj=NounPhrase(1))
    assert space.animate[0]
    order = {}
    for code, lexicon in lexica.items():
        tokens = lexicon.sentence(Meaning((clause,)))
        subject, verb, obj = (lexicon.forms["noun"][0]["sg", "nom"], lexicon.forms["verb"][0]["present", "sg"],
                              lexicon.forms["noun"][1]["sg", "acc"])
        assert len(tokens) == 4 and tokens[3] == lexicon.spec.period
        order[code] = "".join("SVO"[(subject, verb, obj).index(token)] for token in tokens[:3])
    assert order == {"en_XX": "SVO", "de_DE": "SOV", "ru_RU": "OSV", "zh_CN": "SVO"}


def test_task_sources_and_targets_align(bench):
    out, _ = bench
    for task, code, split in itertools.product(("summarization", "title"), LANGUAGES, SPLITS):
        source = lines(out, f"tasks/{task}/{code}/{split}.source")
        target = lines(out, f"tasks/{task}/{code}/{split}.target")
        assert len(source) == len(target) == TINY["tasks"][split]


@pytest.mark.parametrize("task", ["summarization", "title"])
@pytest.mark.parametrize("tgt, threshold", [("de_DE", 0.85), ("ru_RU", 0.85), ("zh_CN", 0.6)])
def test_evaluation_meanings_are_shared_across_languages(bench, task, tgt, threshold):
    """valid/test targets translate into each other (but for words unseen in mono/parallel
    text and zh_CN particles); the per-language train sets do not."""
    out, _ = bench
    lexicon = load_gold_lexicon(out / f"lexicon/en_XX-{tgt}.gold.tsv")
    for split in SPLITS:
        source = tokenized(out, f"tasks/{task}/en_XX/{split}.target")
        target = tokenized(out, f"tasks/{task}/{tgt}/{split}.target")
        if split == "train":
            assert coverage(lexicon, source, target) < 0.3
        else:
            assert coverage(lexicon, source, target) >= threshold, split


def test_summaries_are_the_core_of_the_first_sentence(bench):
    out, meta = bench
    for code in SPACED:
        period = meta["languages"][code]["sentence_end"]
        for source, target in zip(tokenized(out, f"tasks/summarization/{code}/test.source"),
                                  tokenized(out, f"tasks/summarization/{code}/test.target")):
            first_sentence = source[: source.index(period) + 1]
            assert 2 < len(target) <= len(first_sentence) and target[-1] == period
            assert set(target) <= set(first_sentence)


def test_titles_are_questions_about_the_object(bench):
    out, meta = bench
    for code in LANGUAGES:
        question_words = set()
        for source, target in zip(tokenized(out, f"tasks/title/{code}/train.source"),
                                  tokenized(out, f"tasks/title/{code}/train.target")):
            assert target[-1] == meta["languages"][code]["question_end"]
            new_words = set(target[:-1]) - set(source)
            assert len(new_words) == 1
            question_words |= new_words
        assert len(question_words) == 2  # 'who' and 'what'


def test_load_gold_lexicon(tmp_path):
    path = tmp_path / "lexicon.tsv"
    path.write_text("katz\tкот\nkatz\tкота\nkatz\tкот\n\nlauf\tбег\n", encoding="utf-8")
    assert load_gold_lexicon(path) == {"katz": ["кот", "кота"], "lauf": ["бег"]}
    path.write_text("katz\tкот\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        load_gold_lexicon(path)


def run_cli(*args, cwd):
    """The CLI in a fresh interpreter (with string hashing unlike this one's)."""
    return subprocess.run([sys.executable, "-m", "fairseq_xlgen.cli.make_benchmark", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONHASHSEED="123"))


def test_cli_rejects_unknown_language_without_output(tmp_path):
    result = run_cli("--out", "bench", "--size", "tiny", "--langs", "en_XX,xx_YY", cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--langs" in errors[0] and "xx_YY" in errors[0]
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


def test_cli_generates_then_guards_the_output(tmp_path, capsys):
    result = run_cli("--out", "bench", "--size", "tiny", "--seed", "3", "--langs", "ru_RU,en_XX", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    generate_benchmark(tmp_path / "in_process", seed=3, size="tiny", langs=["en_XX", "ru_RU"], progress=False)
    assert all_files(tmp_path / "bench") == all_files(tmp_path / "in_process")
    args = ["--out", str(tmp_path / "bench"), "--size", "tiny", "--seed", "4", "--langs", "en_XX,ru_RU"]
    with pytest.raises(SystemExit) as exit_info:
        make_benchmark_main(args)
    assert exit_info.value.code == 2
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")][0].endswith(
        "pass force=True (--force) to replace it")
    make_benchmark_main(args + ["--force"])
    assert json.loads((tmp_path / "bench" / "meta.json").read_text(encoding="utf-8"))["seed"] == 4
