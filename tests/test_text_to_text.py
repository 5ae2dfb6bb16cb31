"""xlgen-text-to-text: understanding tasks as seq2seq data (paper 002 Table 10's reading, without mT5's sentinels)."""
import os
import subprocess

import pytest

from conftest import BIN, tool_env
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
