"""bench/sga_decoding.py's analytic FLOP and weight-traffic formulas on a tiny config, worked by hand (no timing)."""
import argparse
import importlib.util
import os

import pytest

from conftest import REPO

_spec = importlib.util.spec_from_file_location("sga_decoding", os.path.join(REPO, "bench", "sga_decoding.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

# L=1 layer, d=2, F=3, V=5, P=1; S=1 source piece, CTC canvas T=2, N=1 output token
TINY = dict(layers=1, d=2, ffn=3, vocab=5)


def test_sga_semantic_and_one_ctc_pass_by_hand():
    # semantic pass over <s> x </s> (3 tokens) with 1 prompt key: q/k/v/o 4*3*2*2 = 48, scores and values
    # 2*3*4*2 = 48, FFN 2*3*2*3 = 36, W_K/W_V 2*3*2*2 = 24 -> 156 multiply-adds
    # CTC pass over <s> <mask>x2 </s> (4 tokens) with 3 semantic + 1 prompt keys (8 in all): 4*4*2*2 = 64,
    # 2*4*8*2 = 128, 2*4*2*3 = 48, LM head 4*(2*2 + 2*5) = 56 -> 296
    flops, weights = bench.sga_costs(["ctc"], s=1, t=2, n=1, prompt=1, **TINY)
    assert flops == 2 * (156 + 296) == 904
    # layer matrices 4*2*2 + 2*2*3 = 28, prompts K,V 2*1*1*2 = 4; semantic + W_K/W_V 2*2*2 = 8 -> 40;
    # CTC pass + LM head 2*2 + 2*5 = 14 -> 46
    assert weights == 40 + 46 == 86


def test_mask_predict_iteration_runs_on_n_not_on_the_canvas():
    # one Mask-Predict iteration over <s> <mask> </s> (3 tokens), 3 + 3 + 1 = 7 keys: 4*3*4 = 48,
    # 2*3*7*2 = 84, 2*3*2*3 = 36, LM head 3*14 = 42 -> 210
    flops, weights = bench.sga_costs(["mp"], s=1, t=2, n=1, prompt=1, **TINY)
    assert flops == 2 * (156 + 210) and weights == 86


def test_ar_beam_by_hand():
    # encoder over x </s> (2 tokens): 4*2*4 = 32, 2*2*2*2 = 16, 2*2*2*3 = 24 -> 72; cross-attention K/V once
    # per hypothesis 2 beams * 2*1*2*4 = 32; step t (t keys), per beam: 6*4 + 2*t*2 + 2*2*2 + 2*2*3 + 2*5
    # = 54 + 4t: steps 1, 2 -> 2*58 + 2*62 = 240
    flops, weights = bench.ar_costs(beam=2, s=1, n=1, **TINY)
    assert flops == 2 * (72 + 32 + 240) == 688
    # encoder 28 and the cross K/V matrices 2*4 once; every step 6*4 + 2*2*3 + 2*5 = 46, read twice
    assert weights == 28 + 8 + 2 * 46 == 128


@pytest.mark.parametrize("name, passes, calls", [
    ("ctc", ["ctc"], 2), ("sga+1", ["ctc", "ctc"], 3), ("sga+2", ["ctc"] * 3, 4),
    ("mp2", ["mp"] * 2, 3), ("mp8+dn", ["mp"] * 8 + ["ctc"], 10),
])
def test_each_systems_passes_and_forward_calls(name, passes, calls):
    args = argparse.Namespace(src_pieces=1, layers=1, dim=2, ffn=3, vocab=4, prompt_length=1)  # V = 4 + <mask>
    assert bench.sga_passes(name) == passes
    assert bench.system_costs(name, args) == (*bench.sga_costs(passes, 1, 2, 1, prompt=1, **TINY), calls)
    assert bench.system_costs("ar-beam4", args)[2] == 1 + 2  # the encoder, then N + 1 = 2 decoder steps


def test_adaptive_round_spreads_the_trained_models_mean_over_eight_sentences():
    assert bench.round_passes(1.62) == [1, 2, 1, 2, 2, 1, 2, 2]  # 13 / 8 = 1.625, the nearest eighth
    assert bench.round_passes(1.0) == [1] * 8 and bench.round_passes(2.0) == [2] * 8
    assert bench.round_passes(1.25) == [1, 1, 1, 2, 1, 1, 1, 2]


def test_adaptive_costs_follow_each_sentences_passes_and_each_batchs_slowest():
    args = argparse.Namespace(src_pieces=1, layers=1, dim=2, ffn=3, vocab=4, prompt_length=1, passes_mean=1.5)
    one, two = (bench.sga_costs(["ctc"] * k, 1, 2, 1, prompt=1, **TINY) for k in (2, 3))  # 1 or 2 denoising passes
    assert bench.repeat_batches("sga", args, 1) == [[1], [2]] * 4
    # batch 1: every sentence alone, half with 1 denoising pass, half with 2
    assert bench.system_costs("sga", args, 1) == ((one[0] + two[0]) / 2, (one[1] + two[1]) / 2, 3.5)
    # batch 4: two batches [1, 2, 1, 2], each reading the weights of its slowest row's 2 passes once
    assert bench.repeat_batches("sga", args, 4) == [[1, 2, 1, 2]] * 2
    assert bench.system_costs("sga", args, 4) == ((one[0] + two[0]) / 2, 2 * two[1] / 8, 4.0)
    assert bench.system_costs("sga+1", args, 4) == (one[0], one[1] / 4, 3)


def test_denoising_passes_from_a_print_step_output(tmp_path):
    out = tmp_path / "generate.txt"
    out.write_text("S-0\tx\nH-0\t-1.0\ty\nI-0\t1\nS-1\tx\nI-1\t3\nI-2\t2\n", encoding="utf-8")
    assert bench.parse_args(["--denoising-passes", str(out)]).passes_mean == 2.0  # steps 1, 3, 2
    empty = tmp_path / "no_steps.txt"
    empty.write_text("H-0\t-1.0\ty\n", encoding="utf-8")
    for spec in (str(empty), str(tmp_path / "missing"), "0.5"):
        with pytest.raises(SystemExit):
            bench.parse_args(["--denoising-passes", spec])


def test_scripted_fixed_point_stops_each_sentence_after_its_passes(tmp_path):
    """Through fairseq's IterativeRefinementGenerator: rows finish at steps 1 or 2 and are dropped, the rest go on."""
    args = bench.parse_args(["--systems", "sga", "--layers", "1", "--dim", "16", "--ffn", "32", "--heads", "2",
                             "--vocab", "60", "--prompt-length", "2", "--src-pieces", "3", "--denoising-passes", "1.5"])
    bench.write_dictionaries(str(tmp_path), args.vocab)
    task, model = bench.build_systems(args, str(tmp_path))["ctc"]
    runner = bench.Runner("sga", task, model, str(tmp_path), args, 4)
    runner.repeat()
    assert runner.steps == [1, 2, 1, 2] * 2
    assert runner.result()["mean_denoising_passes"] == 1.5
