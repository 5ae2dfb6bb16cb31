"""xlgen-text-to-text: understanding tasks as seq2seq data (paper 002 Table 10's reading, without mT5's sentinels)."""
import json
import os
import subprocess

import pytest

from conftest import BIN, REPO, tool_env
from fairseq_xlgen.data.text_to_text import TEMPLATES, text_to_text


def _write(directory, files):
    os.makedirs(directory, exist_ok=True)
    for name, lines in files.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))


def test_templates_join_the_inputs_and_keep_the_target_on_ru_and_zh():
    fields = {"premise": ["Собака спит .", "狗睡觉。"], "hypothesis": ["Собака не спит .", "狗在睡觉。"],
              "label": ["contradiction", "entailment"]}
    sources, targets = text_to_text(TEMPLATES["nli"], fields.__getitem__)
    assert sources == ["Собака спит . | Собака не спит .", "狗睡觉。 | 狗在睡觉。"]
    assert targets == ["contradiction", "entailment"]
    words = {"words": ["狗 睡觉 。"], "tags": ["NOUN VERB PUNCT"]}
    assert text_to_text(TEMPLATES["pos"], words.__getitem__) == (["狗 睡觉 。"], ["NOUN VERB PUNCT"])
    qa = {"question": ["谁睡觉？"], "context": ["狗睡觉。猫吃饭。"], "answer": ["狗"]}
    assert text_to_text(TEMPLATES["qa"], qa.__getitem__) == (["谁睡觉？ | 狗睡觉。猫吃饭。"], ["狗"])
    assert {task: t.metric for task, t in TEMPLATES.items()} == {
        "pos": "tag_accuracy", "nli": "accuracy", "paws": "accuracy", "qa": "span_f1"}
    # tags and labels are written alike in every language, answers in the document's
    assert [task for task, t in TEMPLATES.items() if t.language_neutral_output] == ["pos", "nli", "paws"]
    with pytest.raises(ValueError, match="fields of unequal length: premise 2, hypothesis 1, label 2 lines"):
        text_to_text(TEMPLATES["nli"], {**fields, "hypothesis": ["x"]}.__getitem__)


def test_cli_converts_every_split_present_and_refuses_bad_input_before_writing(tmp_path):
    task = tmp_path / "paws"
    _write(task / "en_XX", {f"{split}.{field}": [f"{split} {field} {i}" for i in range(3)]
                            for split in ("train", "valid", "test") for field in ("sentence1", "sentence2", "label")})
    _write(task / "ru_RU", {f"test.{field}": ["Кошка ест .", "Кошку ест ."] if field != "label" else ["1", "0"]
                            for field in ("sentence1", "sentence2", "label")})
    cli = [os.path.join(BIN, "xlgen-text-to-text"), "--task", "paws", "--task-dir", str(task)]
    proc = subprocess.run([*cli, "--out", str(tmp_path / "out"), "--langs", "en_XX,ru_RU"], env=tool_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "8 files" in proc.stdout and "--metric accuracy" in proc.stdout
    assert sorted(os.listdir(tmp_path / "out" / "ru_RU")) == ["test.source", "test.target"]  # zero-shot: test only
    assert (tmp_path / "out" / "ru_RU" / "test.source").read_text(encoding="utf-8") == \
        "Кошка ест . | Кошка ест .\nКошку ест . | Кошку ест .\n"
    assert (tmp_path / "out" / "en_XX" / "valid.target").read_text() == "valid label 0\nvalid label 1\nvalid label 2\n"

    _write(task / "zh_CN", {"test.sentence1": ["猫吃鱼。"], "test.sentence2": ["鱼吃猫。", "多"], "test.label": ["0"]})
    for langs, message in (("en_XX,zh_CN", "zh_CN/test.*: fields of unequal length: sentence1 1, sentence2 2, label 1"),
                           ("en_XX,de_DE", "no de_DE/ directory")):
        proc = subprocess.run([*cli, "--out", str(tmp_path / "bad"), "--langs", langs], env=tool_env(),
                              capture_output=True, text=True)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
        assert not (tmp_path / "bad").exists()  # en_XX was fine, but nothing is written


def _readme_function(name):
    """The shell function NAME as examples/multisource/README.md defines it (its real-data commands)."""
    with open(os.path.join(REPO, "examples", "multisource", "README.md"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"{name}() {{")))
    return "\n".join(lines[start:lines.index("}", start) + 1])


def test_readme_converters_cut_conllu_and_squad_json_into_the_fields_on_ru_and_zh(tmp_path):
    """The README's commands for real UDPOS (CoNLL-U: FORM and UPOS, multiword ranges and empty nodes
    left out) and TyDiQA-GoldP / XQuAD (SQuAD JSON) write the files xlgen-text-to-text reads."""
    conllu = ("# sent_id = 1\n# text = Кошка спит.\n1\tКошка\tкошка\tNOUN\t_\t_\t2\tnsubj\t_\t_\n"
              "2\tспит\tспать\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No\n3\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_\n\n"
              "1\t猫\t猫\tNOUN\t_\t_\t2\tnsubj\t_\t_\n1.1\t在\t在\tADP\t_\t_\t_\t_\t_\t_\n"
              "2-3\t睡觉了\t_\t_\t_\t_\t_\t_\t_\t_\n2\t睡觉\t睡觉\tVERB\t_\t_\t0\troot\t_\t_\n"
              "3\t了\t了\tPART\t_\t_\t2\taux\t_\t_\n")  # no blank line at the end: the last sentence still counts
    (tmp_path / "ud.conllu").write_text(conllu, encoding="utf-8")
    squad = {"data": [{"paragraphs": [{"context": "Кошка спит.\nСобака ест.", "qas": [
        {"question": "Кто ест?", "answers": [{"text": "Собака", "answer_start": 12}]}]},
        {"context": "猫睡觉。", "qas": [{"question": "谁睡觉？", "answers": [{"text": "猫", "answer_start": 0}]}]}]}]}
    (tmp_path / "qa.json").write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    script = "\n".join([_readme_function("conllu_to_fields"), _readme_function("squad_to_fields"),
                        "conllu_to_fields ud.conllu out/test", "squad_to_fields qa.json out/test"])
    (tmp_path / "out").mkdir()
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=tool_env(), check=True)
    read = lambda field: (tmp_path / "out" / f"test.{field}").read_text(encoding="utf-8")  # noqa: E731
    assert read("words") == "Кошка спит .\n猫 睡觉 了\n"
    assert read("tags") == "NOUN VERB PUNCT\nNOUN VERB PART\n"
    assert read("question") == "Кто ест?\n谁睡觉？\n"
    assert read("context") == "Кошка спит. Собака ест.\n猫睡觉。\n"  # one line per example
    assert read("answer") == "Собака\n猫\n"


def test_targets_the_model_cannot_write_are_refused_and_lowercase_tags_are_written(tmp_path):
    """The testbed's SentencePiece model has no capital A, E, O, U: NOUN would come out as N<unk>N and score 0
    in every language, so --spm refuses it in one line; --lowercase-targets writes tags it can spell."""
    task = tmp_path / "pos"
    _write(task / "en_XX", {"train.words": ["Tom runs ."], "train.tags": ["PROPN VERB PUNCT"]})
    _write(task / "ru_RU", {"test.words": ["Кошка спит ."], "test.tags": ["NOUN VERB PUNCT"]})
    _write(task / "zh_CN", {"test.words": ["猫 睡觉 ☃"], "test.tags": ["NOUN VERB ☃"]})
    spm = os.path.join(REPO, "fixtures", "testbed-small", "mbart.cc25", "sentence.bpe.model")
    cli = [os.path.join(BIN, "xlgen-text-to-text"), "--task", "pos", "--task-dir", str(task), "--spm", spm,
           "--out", str(tmp_path / "out")]
    for extra, message in (([], f"{task}/en_XX/train.tags:1: the model's SentencePiece vocabulary has no C E O U, so no "
                                "output can match this label (their lower case is: --lowercase-targets)"),
                           (["--lowercase-targets"], f"{task}/zh_CN/test.tags:1: the model's SentencePiece vocabulary "
                                                     "has no ☃, so no output can match this label\n")):
        proc = subprocess.run([*cli, "--langs", "en_XX,ru_RU,zh_CN", *extra], env=tool_env(), capture_output=True,
                              text=True)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
        assert not (tmp_path / "out").exists()
    proc = subprocess.run([*cli, "--langs", "en_XX,ru_RU", "--lowercase-targets"], env=tool_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "ru_RU" / "test.target").read_text(encoding="utf-8") == "noun verb punct\n"
    assert (tmp_path / "out" / "ru_RU" / "test.source").read_text(encoding="utf-8") == "Кошка спит .\n"
    # free-text answers: rare characters are expected in real text; their share is reported, not refused
    _write(tmp_path / "qa" / "zh_CN", {"test.question": ["谁？", "谁？"], "test.context": ["☃只。", "只。"],
                                       "test.answer": ["☃只", "只"]})
    proc = subprocess.run([os.path.join(BIN, "xlgen-text-to-text"), "--task", "qa", "--task-dir", str(tmp_path / "qa"),
                           "--spm", spm, "--out", str(tmp_path / "qa-out"), "--langs", "zh_CN"], env=tool_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"{tmp_path}/qa/zh_CN/test.answer: 1 of 2 targets (50.0 %) hold characters the model writes as <unk>" \
        in proc.stdout
