"""Benchmark of SGA decoding speed (paper 003 Table 1 speed, Table 4 trade-off): latency at batch 1
and throughput at batch 64 of the NAT systems next to the AR baseline, side by side in one run.

Systems (xlmr.base-sized, random init: 12 layers, d=768, FFN 3072, 250,002 symbols with
``<mask>``, P=128), all decoded by the code ``fairseq-generate`` runs (``task.build_generator``
then ``task.inference_step``):

* (a) ``ctc``: CTC alignment only (SGA w/o denoising): ``IterativeRefinementGenerator`` with
  ``--iter-decode-max-iter 0`` (the semantic pass and one alignment pass);
* (b) ``sga+1``, ``sga+2``: CTC alignment then 1 or 2 denoising passes
  (``--iter-decode-max-iter 1|2 --iter-decode-force-max-iter``: fixed, so that random weights
  cannot stop early);
* (c) ``mp2``/``mp4``/``mp8`` with or without ``+dn`` (one denoising pass on the ×2 canvas):
  Mask-Predict with 2/4/8 iterations; the length classifier is set to predict N;
* (d) ``ar-beam4``, ``ar-greedy``: ``xlmr_transformer_base`` (XLM-R-sized encoder, a decoder of
  the same depth/width, the 250,001-row embedding shared) through fairseq's
  ``SequenceGenerator`` with ``--beam 4|1 --min-len N --max-len-a 0 --max-len-b N``: exactly N
  tokens then ``</s>`` (N+1 decoder steps).

Equal lengths: S source pieces (default 20), N = S output tokens, CTC canvas T = 2S (the
upsample ratio). SGA inputs are ``<s> x </s>``, AR inputs ``x </s>`` (each system's own format).

**Analytic cost per sentence** (FLOP = 2 × multiply-adds of the matrix products; softmax,
layer norms, GELU, biases, embedding lookups and beam bookkeeping are left out, < 1%). With L
layers, width d, FFN width F, output vocabulary V, prompt length P, an encoder layer over n
tokens attending to m keys costs ``layer(n, m) = 4nd² + 2nmd + 2ndF`` multiply-adds (q/k/v/out
projections of the n tokens, scores and weighted values, FFN):

* SGA semantic pass: ``L·layer(S+2, S+2+P) + 2L(S+2)d²`` (W_K, W_V on every layer's output);
* a CTC pass (alignment or denoising) over the canvas: ``L·layer(T+2, T+2+S+2+P) + (T+2)(d² + dV)``
  (the LM head: dense d×d, then the output d×V), a Mask-Predict iteration the same with N for T;
* AR with beam k over n_s = S+1 source tokens, N+1 steps: encoder ``L·layer(n_s, n_s)``, the
  cross-attention keys/values once per hypothesis ``k·2L·n_s·d²``, and at step t (t keys)
  ``k·[L(6d² + 2td + 2n_s·d + 2dF) + dV]``.

**Weight traffic** (bytes of weights read per sentence): every forward call reads each matrix it
uses once for the whole batch, so per sentence it is Σ_calls bytes(call) / B: an SGA pass reads
``L(4d² + 2dF)`` plus the unit's prompts ``2LPd`` (the semantic pass adds W_K, W_V ``2d²``, a
CTC/Mask-Predict pass the LM head ``d² + dV``); the AR encoder ``L(4d² + 2dF)`` once, every AR
decoder step ``L(6d² + 2dF) + dV`` (the cross-attention K/V matrices ``2Ld²`` once more at the
first step), × 4 bytes in fp32 (2 in fp16).

**Why the ratios shrink toward the FLOP ratio on CPU.** A forward call takes about
max(FLOPs / compute rate, weight bytes / memory bandwidth). At batch 1 an AR step multiplies k
(1 or 4) rows by every weight matrix, about k/2 FLOP per byte of fp32 weights, so it is bound by
weight traffic, and it re-reads the decoder and the 250k-row output matrix (1.2 GB for base) at
each of its N+1 steps. An SGA pass multiplies the 22-42 canvas rows by the same weights (10-20
FLOP per byte) and reads them once; its FLOPs per sentence are about those of beam 4 (the LM
head over the 2N canvas ≈ 4 hypotheses × N+1 steps). So the traffic ratio is large (5-9×) and
the FLOP ratio small (1-2×). A GPU computes ~100-300 FLOP per byte it can read: both kinds of
pass are traffic-bound (the many small AR steps also launch-bound) and the speed-up approaches
the traffic ratio. A CPU core computes only a few FLOP per byte: the SGA passes are
compute-bound, and at batch 1 the speed-up lies between the two ratios; at batch B an AR step
multiplies k·B rows, becomes compute-bound too, and the speed-up falls to the FLOP ratio (≈1
for ``sga+1`` against beam 4, below 1 against greedy). The last column (GFLOP per CPU second)
shows which regime each row is in.

**Timing.** Wall-clock seconds of ``task.inference_step`` and the process's CPU seconds, median
over ``--repeats`` batches of random pieces, after one warm-up sentence per system. On a shared
machine run ``--threads 1`` and read the CPU columns: a single-threaded process's CPU time leaves
out the time other processes hold the core (wall time is what a user of an idle machine gets).

    python -m bench.sga_decoding                                   # batch 1 and 64, 3 repeats
    python -m bench.sga_decoding --threads 1 --src-pieces 10 --batch-sizes 1 4 --repeats 2  # examples/sga/README.md
    python -m bench.sga_decoding --device cuda --fp16              # on a GPU
"""
import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings

import torch

#: name: (model, generation options); model "ctc"/"mask_predict" (SGA) or "ar"; "{n}" = target tokens
SYSTEMS = {
    "ctc": ("ctc", ["--iter-decode-max-iter", "0"]),
    "sga+1": ("ctc", ["--iter-decode-max-iter", "1", "--iter-decode-force-max-iter"]),
    "sga+2": ("ctc", ["--iter-decode-max-iter", "2", "--iter-decode-force-max-iter"]),
    **{f"mp{i}{dn}": (f"mask_predict:{i}", ["--iter-decode-max-iter", "1" if dn else "0",
                                            "--iter-decode-force-max-iter"])
       for i in (2, 4, 8) for dn in ("", "+dn")},
    "ar-beam4": ("ar", ["--beam", "4", "--min-len", "{n}", "--max-len-a", "0", "--max-len-b", "{n}"]),
    "ar-greedy": ("ar", ["--beam", "1", "--min-len", "{n}", "--max-len-a", "0", "--max-len-b", "{n}"]),
}
REFERENCE = "ar-beam4"
SRC, TGT = "de_DE", "en_XX"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64],
                        help="each system warms up on one sentence before the first")
    parser.add_argument("--repeats", type=int, default=3, help="timed batches per system and batch size (median)")
    parser.add_argument("--src-pieces", type=int, default=20, help="S: source pieces = target tokens N; canvas 2S")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--ffn", type=int, default=3072)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--vocab", type=int, default=250_001, help="dict.txt entries incl. 4 specials (XLM-R: 250,001)")
    parser.add_argument("--prompt-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fp16", action="store_true", help="half-precision weights (GPU)")
    parser.add_argument("--out", default="bench/results/sga_decoding.json")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------- analytic costs
def layer_macs(n, m, d, ffn):
    """Multiply-adds of one encoder layer over n tokens attending to m keys (prefix keys pre-projected)."""
    return 4 * n * d * d + 2 * n * m * d + 2 * n * d * ffn


def sga_costs(passes, s, t, n, layers, d, ffn, vocab, prompt):
    """(FLOPs, weight parameters read) of one SGA sentence; ``passes`` = ["ctc" | "mp", ...] after the semantic pass.

    ``s`` source pieces, ``t`` CTC canvas, ``n`` Mask-Predict length (see the module docstring).
    """
    backbone, prompts, lm_head = layers * (4 * d * d + 2 * d * ffn), 2 * layers * prompt * d, d * d + d * vocab
    macs = layers * layer_macs(s + 2, s + 2 + prompt, d, ffn) + 2 * layers * (s + 2) * d * d
    weights = backbone + prompts + 2 * d * d
    for kind in passes:
        width = (t if kind == "ctc" else n) + 2
        macs += layers * layer_macs(width, width + s + 2 + prompt, d, ffn) + width * lm_head
        weights += backbone + prompts + lm_head
    return 2 * macs, weights


def ar_costs(beam, s, n, layers, d, ffn, vocab):
    """(FLOPs, weight parameters read) of one AR sentence: ``s`` source pieces + ``</s>``, n tokens + ``</s>``."""
    source = s + 1
    macs = layers * layer_macs(source, source, d, ffn) + beam * 2 * layers * source * d * d
    step_weights = layers * (6 * d * d + 2 * d * ffn) + d * vocab
    weights = layers * (4 * d * d + 2 * d * ffn) + 2 * layers * d * d
    for step in range(1, n + 2):
        macs += beam * (layers * (6 * d * d + 2 * step * d + 2 * source * d + 2 * d * ffn) + d * vocab)
        weights += step_weights
    return 2 * macs, weights


def sga_passes(name):
    """The passes after the semantic pass: "ctc" (alignment or denoising) or "mp" (a Mask-Predict iteration)."""
    model, _ = SYSTEMS[name]
    if model == "ar":
        return []
    denoising = {"sga+1": 1, "sga+2": 2}.get(name, 1 if name.endswith("+dn") else 0)
    alignment = ["ctc"] if model == "ctc" else ["mp"] * int(model.split(":")[1])
    return alignment + ["ctc"] * denoising


def system_costs(name, args):
    """(FLOPs, weight parameters read) per sentence, and the model's forward calls per batch."""
    s = args.src_pieces
    if SYSTEMS[name][0] == "ar":
        beam = 4 if name == "ar-beam4" else 1
        return (*ar_costs(beam, s, s, args.layers, args.dim, args.ffn, args.vocab), 1 + s + 1)
    passes = sga_passes(name)
    return (*sga_costs(passes, s, 2 * s, s, args.layers, args.dim, args.ffn, args.vocab + 1, args.prompt_length),
            1 + len(passes))


# ---------------------------------------------------------------------------- models and generators
def write_dictionaries(directory, entries):
    """dict.{SRC,TGT}.txt with XLM-R's layout: ``entries`` − 4 pieces after fairseq's 4 specials."""
    with open(os.path.join(directory, f"dict.{SRC}.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"▁p{i} 1\n" for i in range(entries - 4))
    os.link(os.path.join(directory, f"dict.{SRC}.txt"), os.path.join(directory, f"dict.{TGT}.txt"))


def fairseq_cfg(parser_fn, argv):
    from fairseq import options
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    return convert_namespace_to_omegaconf(options.parse_args_and_arch(parser_fn(), argv))


def build_systems(args, data):
    """{model key: (task, model)}: the SGA CTC model, Mask-Predict models on the same backbone, the AR baseline."""
    from fairseq import options, tasks
    from omegaconf import open_dict

    from fairseq_xlgen.models.xlmr_sga import XlmrSgaModel

    user_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fairseq_xlgen")
    common = [data, "--user-dir", user_dir, "--source-lang", SRC, "--target-lang", TGT, "--seed", "1"]

    def sizes(side):
        return [f"--{side}-layers", str(args.layers), f"--{side}-embed-dim", str(args.dim),
                f"--{side}-ffn-embed-dim", str(args.ffn), f"--{side}-attention-heads", str(args.heads)]

    wanted = {SYSTEMS[name][0] for name in args.systems}
    built = {}
    if wanted - {"ar"}:
        cfg = fairseq_cfg(options.get_training_parser, common + sizes("encoder") + [
            "--task", "sga_translation", "--arch", "xlmr_sga_base", "--prompt-length", str(args.prompt_length)])
        task = tasks.setup_task(cfg.task)
        torch.manual_seed(1)
        ctc = task.build_model(cfg.model)
        built["ctc"] = (task, ctc)
        for key in sorted(k for k in wanted if k.startswith("mask_predict")):
            mp_cfg = cfg.model.copy()
            with open_dict(mp_cfg):
                mp_cfg.alignment, mp_cfg.mask_predict_iterations = "mask_predict", int(key.split(":")[1])
            torch.manual_seed(2)
            model = XlmrSgaModel(mp_cfg, ctc.xlmr, task.target_dictionary)  # the same frozen backbone
            with torch.no_grad():  # the length classifier predicts N: equal lengths across systems
                model.length_predictor.weight.zero_()
                model.length_predictor.bias.zero_()[args.src_pieces] = 1.0
            built[key] = (task, model)
    if "ar" in wanted:
        cfg = fairseq_cfg(options.get_training_parser, common + sizes("encoder") + sizes("decoder") + [
            "--task", "translation", "--arch", "xlmr_transformer_base"])
        task = tasks.setup_task(cfg.task)
        torch.manual_seed(3)
        built["ar"] = (task, task.build_model(cfg.model))
    device = torch.device(args.device)
    for _, model in built.values():
        model.to(device).eval()
        if args.fp16:
            model.half()
    return built


def generator_for(name, task, model, data, args):
    """``task.build_generator`` on ``fairseq-generate``'s parsed generation options."""
    from fairseq import options

    _, options_ = SYSTEMS[name]
    gen = [o.replace("{n}", str(args.src_pieces)) for o in options_]
    cfg = fairseq_cfg(options.get_generation_parser, [data, "--task", task.cfg._name, "--source-lang", SRC,
                                                      "--target-lang", TGT, *gen])
    return task.build_generator([model], cfg.generation)


def batch(task, name, size, pieces, generator, device):
    """``size`` random sentences of ``pieces`` real pieces, in the system's input format."""
    d = task.source_dictionary
    body = torch.randint(d.nspecial, len(d) - 1, (size, pieces), generator=generator)
    eos = torch.full((size, 1), d.eos())
    src = torch.cat([body, eos] if SYSTEMS[name][0] == "ar" else [torch.full((size, 1), d.bos()), body, eos], 1)
    return {"net_input": {"src_tokens": src.to(device), "src_lengths": torch.full((size,), src.size(1), device=device)}}


def output_lengths(hypos, task):
    """Output tokens per sentence, without ``<s>``/``</s>``."""
    d = task.target_dictionary
    return [int((h[0]["tokens"] != d.eos()).logical_and(h[0]["tokens"] != d.bos()).sum()) for h in hypos]


def time_system(name, task, model, data, args, size, warm_up):
    """Median wall and CPU seconds per batch of ``size`` over ``--repeats`` random batches; ``warm_up``: one
    sentence first."""
    generator = generator_for(name, task, model, data, args)
    rng = torch.Generator().manual_seed(size)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if warm_up:  # lazy initialisation, allocator, kernel selection of this generator path
        task.inference_step(generator, [model], batch(task, name, 1, args.src_pieces, rng, device))
    seconds, cpu_seconds, lengths = [], [], []
    for _ in range(args.repeats):
        sample = batch(task, name, size, args.src_pieces, rng, device)
        sync()
        start, cpu_start = time.perf_counter(), time.process_time()
        hypos = task.inference_step(generator, [model], sample)
        sync()
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
        lengths += output_lengths(hypos, task)
    if sga_passes(name)[-1:] != ["ctc"] and set(lengths) != {args.src_pieces}:  # CTC output lengths vary, its canvas not
        raise SystemExit(f"{name}: output lengths {sorted(set(lengths))}, expected {args.src_pieces} for all")
    return {"seconds_per_batch": statistics.median(seconds), "all_seconds": seconds,
            "cpu_seconds_per_batch": statistics.median(cpu_seconds), "all_cpu_seconds": cpu_seconds,
            "mean_output_tokens": sum(lengths) / len(lengths)}


# ---------------------------------------------------------------------------- main
def main(argv=None):
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message=r"(?s).*(ConfigStore schema|version_base|no longer experimental|"
                                              r"strict flag|deprecated keyword)")
    logging.getLogger("fairseq").setLevel(logging.WARNING)
    logging.getLogger("fairseq_xlgen").setLevel(logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    if REFERENCE not in args.systems:
        args.systems.append(REFERENCE)
    bytes_per_weight = 2 if args.fp16 else 4
    with tempfile.TemporaryDirectory() as data:
        write_dictionaries(data, args.vocab)
        started = time.perf_counter()
        built = build_systems(args, data)
        print(f"models built in {time.perf_counter() - started:.0f} s", flush=True)
        rows = []
        for size in args.batch_sizes:
            for name in args.systems:
                task, model = built[SYSTEMS[name][0]]
                flops, weights, calls = system_costs(name, args)
                row = {"system": name, "batch": size, "forward_calls": calls,
                       "gflop_per_sentence": flops / 1e9,
                       "weight_gb_per_sentence": weights * bytes_per_weight / size / 1e9,
                       **time_system(name, task, model, data, args, size, warm_up=size == args.batch_sizes[0])}
                row["ms_per_sentence"] = 1000 * row["seconds_per_batch"] / size
                row["cpu_ms_per_sentence"] = 1000 * row["cpu_seconds_per_batch"] / size
                row["sentences_per_second"] = size / row["seconds_per_batch"]
                row["gflop_per_cpu_second"] = row["gflop_per_sentence"] * size / row["cpu_seconds_per_batch"]
                rows.append(row)
                print(f"  {name:10} batch {size:3}: {row['ms_per_sentence']:9.1f} ms/sentence "
                      f"({row['cpu_ms_per_sentence']:.1f} CPU)", flush=True)
    for row in rows:
        ref = next(r for r in rows if r["system"] == REFERENCE and r["batch"] == row["batch"])
        row["speedup"] = ref["seconds_per_batch"] / row["seconds_per_batch"]
        row["cpu_speedup"] = ref["cpu_seconds_per_batch"] / row["cpu_seconds_per_batch"]
        row["flop_ratio"] = ref["gflop_per_sentence"] / row["gflop_per_sentence"]
        row["traffic_ratio"] = ref["weight_gb_per_sentence"] / row["weight_gb_per_sentence"]
    threads = torch.get_num_threads()
    print(f"\nL={args.layers}, d={args.dim}, FFN {args.ffn}, V={args.vocab + 1:,} (AR {args.vocab:,}), P={args.prompt_length}, "
          f"source {args.src_pieces} pieces, {args.src_pieces} output tokens (CTC canvas {2 * args.src_pieces}), "
          f"{args.device}{' fp16' if args.fp16 else ''}, {threads} threads; ratios = {REFERENCE} / system")
    print(f"{'system':10} {'batch':>5} {'calls':>5} {'GFLOP/s.':>9} {'× FLOP':>7} {'GB w/s.':>8} {'× traffic':>9} "
          f"{'ms/sent.':>9} {'sent/s':>8} {'× speed':>8} {'CPU ms/s.':>10} {'× CPU':>6} {'GFLOP/CPU s':>11}")
    for r in rows:
        print(f"{r['system']:10} {r['batch']:5} {r['forward_calls']:5} {r['gflop_per_sentence']:9.1f} "
              f"{r['flop_ratio']:7.2f} {r['weight_gb_per_sentence']:8.3f} {r['traffic_ratio']:9.2f} "
              f"{r['ms_per_sentence']:9.1f} {r['sentences_per_second']:8.2f} {r['speedup']:8.2f} "
              f"{r['cpu_ms_per_sentence']:10.1f} {r['cpu_speedup']:6.2f} {r['gflop_per_cpu_second']:11.1f}")
    from fairseq_xlgen.file_io import atomic_output

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with atomic_output(args.out) as f:
        json.dump({"settings": vars(args), "command": " ".join(["python -m bench.sga_decoding"] + (
                       argv if argv is not None else sys.argv[1:])),
                   "machine": {"platform": platform.platform(), "processor": platform.processor(),
                               "cpus": os.cpu_count(), "threads": threads, "torch": torch.__version__,
                               "cuda": torch.cuda.get_device_name() if args.device == "cuda" else None},
                   "results": rows}, f, indent=2)
    print(f"\n{args.out}")


if __name__ == "__main__":
    main()
