"""Benchmark of SGA decoding speed (paper 003 Table 1 speed, Table 4 trade-off): latency at batch 1
and throughput at batch 64 of the NAT systems next to the AR baseline, side by side in one run.

Systems (xlmr.base-sized, random init: 12 layers, d=768, FFN 3072, 250,002 symbols with
``<mask>``, P=128), all decoded by the code ``fairseq-generate`` runs (``task.build_generator``
then ``task.inference_step``):

* (a) ``ctc``: CTC alignment only (SGA w/o denoising): ``IterativeRefinementGenerator`` with
  ``--iter-decode-max-iter 0`` (the semantic pass and one alignment pass);
* (b) ``sga``: SGA as ``fairseq-generate`` runs it (``--iter-decode-max-iter 10``, adaptive):
  CTC alignment, then denoising passes until the output repeats. Random weights never repeat
  (all 10 passes), so each sentence's passes are taken from a trained model's decodes
  (``--denoising-passes``: its mean, or its ``--print-step`` output) and the stop is scripted
  (:class:`ScriptedFixedPoint`: every pass runs in full, the generator drops finished rows as it
  does for a trained model); a repeat decodes 8 sentences whose passes average that mean;
  ``sga+1``, ``sga+2``: the bounds, exactly 1 or 2 denoising passes
  (``--iter-decode-max-iter 1|2 --iter-decode-force-max-iter``);
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

**Timing.** Wall-clock seconds of ``task.inference_step`` and the process's CPU seconds per
sentence, over ``--repeats`` (5) repeats of random pieces: median, min/max and quartiles. At every
batch size each system first runs one untimed repeat (warm-up), then the systems' repeats are
interleaved (repeat 1 of every system, then repeat 2, ...), so that a change of the machine's load
hits all systems alike; the load average (``os.getloadavg``) before and after each batch size is
printed and saved. On a shared machine run ``--threads 1`` and read the CPU columns: a
single-threaded process's CPU time leaves out the time other processes hold the core (wall time
is what a user of an idle machine gets).

    python -m bench.sga_decoding                                   # batch 1 and 64, 5 repeats
    python -m bench.sga_decoding --threads 1 --src-pieces 10 --batch-sizes 1 4  # examples/sga/README.md
    python -m bench.sga_decoding --device cuda --fp16              # on a GPU (bench/gpu_checks.sh)
"""
import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings

import torch

from bench._results import write_results

#: name: (model, generation options); model "ctc"/"mask_predict" (SGA) or "ar"; "{n}" = target tokens
SYSTEMS = {
    "ctc": ("ctc", ["--iter-decode-max-iter", "0"]),
    "sga": ("ctc", ["--iter-decode-max-iter", "10"]),  # as fairseq-generate runs it: adaptive, to the fixed point
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
ADAPTIVE = "sga"
#: sentences per repeat of the adaptive system: its per-sentence passes follow the trained model's mean over them
ROUND = 8


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64],
                        help="each system warms up on one sentence before the first")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed repeats per system and batch size, the systems interleaved (median and spread)")
    parser.add_argument("--denoising-passes", default="1.62", metavar="MEAN|FILE",
                        help="denoising passes of the adaptive system 'sga': a trained model's mean, or its "
                             "fairseq-generate --print-step output (I- lines); default: the largest mean of the trained "
                             "CTC SGA decodes in examples/sga/README.md (tiny XLM-R, zh_CN->en_XX: 2.62 passes with the "
                             "alignment pass)")
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
    args = parser.parse_args(argv)
    args.passes_mean = mean_denoising_passes(args.denoising_passes, parser)
    return args


def mean_denoising_passes(spec, parser):
    """A number, or the mean step of the ``I-`` lines of a ``fairseq-generate --print-step`` output (step 0 = alignment,
    so a sentence's step is its number of denoising passes)."""
    try:
        mean = float(spec)
    except ValueError:
        if not os.path.isfile(spec):
            parser.error(f"--denoising-passes {spec}: neither a number nor a fairseq-generate output file")
        with open(spec, encoding="utf-8") as f:
            steps = [float(line.split("\t")[1]) for line in f if line.startswith("I-")]
        if not steps:
            parser.error(f"--denoising-passes {spec}: no I- lines; decode with fairseq-generate --print-step")
        mean = sum(steps) / len(steps)
    if not 1 <= mean <= 10:
        parser.error(f"--denoising-passes {spec}: a mean of {mean:g} passes, outside [1, 10] (--iter-decode-max-iter 10)")
    return mean


def round_passes(mean):
    """Denoising passes of the ROUND sentences of one repeat: floor or ceil of ``mean``, their mean as close as ROUND
    allows (1.62 -> 1,1,1,2,2,2,2,2: 1.625)."""
    base = int(mean)
    extra = int((mean - base) * ROUND + 0.5)  # sentences with one pass more, spread evenly over the round
    return [base + (i + 1) * extra // ROUND - i * extra // ROUND for i in range(ROUND)]


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


def sga_passes(name, denoising=None):
    """The passes after the semantic pass: "ctc" (alignment or denoising) or "mp" (a Mask-Predict iteration);
    ``denoising``: the adaptive system's denoising passes of one sentence."""
    model, _ = SYSTEMS[name]
    if model == "ar":
        return []
    if denoising is None:
        denoising = {"sga+1": 1, "sga+2": 2}.get(name, 1 if name.endswith("+dn") else 0)
    alignment = ["ctc"] if model == "ctc" else ["mp"] * int(model.split(":")[1])
    return alignment + ["ctc"] * denoising


def repeat_batches(name, args, batch):
    """One timed repeat: each batch's per-sentence denoising passes (None: set by the system's options). The adaptive
    system decodes ceil(ROUND / batch) batches, sentence j taking ``round_passes``'s pass count j mod ROUND."""
    if name != ADAPTIVE:
        return [[None] * batch]
    passes = round_passes(args.passes_mean)
    count = -(-ROUND // batch)
    return [[passes[(i * batch + j) % ROUND] for j in range(batch)] for i in range(count)]


def system_costs(name, args, batch=1):
    """FLOPs and weight parameters read per sentence at ``batch``, and the model's forward calls per batch.

    A batch reads every weight once per call, for all its rows; the adaptive system's batch makes as many calls as
    its slowest sentence, while each sentence's FLOPs are its own passes' (the generator drops finished rows).
    """
    s = args.src_pieces
    if SYSTEMS[name][0] == "ar":
        beam = 4 if name == "ar-beam4" else 1
        flops, weights = ar_costs(beam, s, s, args.layers, args.dim, args.ffn, args.vocab)
        return flops, weights / batch, 1 + s + 1

    def costs(denoising):
        return sga_costs(sga_passes(name, denoising), s, 2 * s, s, args.layers, args.dim, args.ffn, args.vocab + 1,
                         args.prompt_length)

    batches = repeat_batches(name, args, batch)
    sentences = [k for group in batches for k in group]
    flops = sum(costs(k)[0] for k in sentences) / len(sentences)
    slowest = [max(group) if group[0] is not None else None for group in batches]
    weights = sum(costs(k)[1] for k in slowest) / len(sentences)
    calls = sum(1 + len(sga_passes(name, k)) for k in slowest) / len(batches)
    return flops, weights, calls


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


class ScriptedFixedPoint:
    """The SGA model as the adaptive system runs it, each sentence stopping after the denoising passes it is given.

    Random weights never reach a fixed point (all 10 passes), so the stop is scripted: every pass still runs in
    full, and at a row's last pass its output is set to the previous pass's, which is the fixed point the generator
    detects (it then drops the row, as for a trained model). The passes travel in the encoder output, which the
    generator reorders with the rows.
    """

    def __init__(self, model):
        self.model, self.passes = model, None

    def __getattr__(self, name):
        return getattr(self.model, name)

    def forward_encoder(self, encoder_inputs):
        encoder_out = self.model.forward_encoder(encoder_inputs)
        encoder_out["denoising_passes"] = self.passes.to(encoder_inputs[0].device)
        return encoder_out

    def forward_decoder(self, decoder_out, encoder_out, **kwargs):
        out = self.model.forward_decoder(decoder_out, encoder_out, **kwargs)
        last = encoder_out["denoising_passes"].eq(decoder_out.step).unsqueeze(1)
        if decoder_out.step == 0 or not last.any():
            return out
        width = max(out.output_tokens.size(1), decoder_out.output_tokens.size(1))

        def widen(t, value):
            return torch.nn.functional.pad(t, (0, width - t.size(1)), value=value)

        return out._replace(
            output_tokens=torch.where(last, widen(decoder_out.output_tokens, self.model.pad),
                                      widen(out.output_tokens, self.model.pad)),
            output_scores=torch.where(last, widen(decoder_out.output_scores, 0.0), widen(out.output_scores, 0.0)))


class Runner:
    """One system at one batch size: a warm-up repeat, then timed repeats (wall and CPU seconds, sentences, passes)."""

    def __init__(self, name, task, model, data, args, size):
        self.name, self.task, self.args, self.size = name, task, args, size
        self.model = ScriptedFixedPoint(model) if name == ADAPTIVE else model
        self.generator = generator_for(name, task, model, data, args)
        self.rng = torch.Generator().manual_seed(size)
        self.device = torch.device(args.device)
        self.sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        self.seconds, self.cpu_seconds, self.lengths, self.steps = [], [], [], []

    def repeat(self, timed=True):
        batches = repeat_batches(self.name, self.args, self.size)
        samples = [batch(self.task, self.name, self.size, self.args.src_pieces, self.rng, self.device) for _ in batches]
        self.sync()
        start, cpu_start = time.perf_counter(), time.process_time()
        hypos = []
        for sample, passes in zip(samples, batches):
            if self.name == ADAPTIVE:
                self.model.passes = torch.tensor(passes)
            hypos += self.task.inference_step(self.generator, [self.model], sample)
        self.sync()
        if timed:
            sentences = len(hypos)
            self.seconds.append((time.perf_counter() - start) / sentences)
            self.cpu_seconds.append((time.process_time() - cpu_start) / sentences)
            self.lengths += output_lengths(hypos, self.task)
            self.steps += [h[0].get("steps") for h in hypos]
            if self.name == ADAPTIVE and [h[0]["steps"] for h in hypos] != [k for group in batches for k in group]:
                raise SystemExit(f"{self.name}: the scripted fixed point did not stop each sentence at its passes")

    def result(self):
        """Per-sentence times over the repeats: median, min, max, quartiles (ms, wall and CPU)."""
        name, n = self.name, self.args.src_pieces
        if sga_passes(name)[-1:] != ["ctc"] and set(self.lengths) != {n}:  # CTC output lengths vary, its canvas not
            raise SystemExit(f"{name}: output lengths {sorted(set(self.lengths))}, expected {n} for all")
        row = {"mean_output_tokens": sum(self.lengths) / len(self.lengths)}
        if SYSTEMS[name][0] != "ar":  # the generator's last step: step 0 aligns, each further step denoises
            row["mean_denoising_passes"] = sum(self.steps) / len(self.steps)
        for key, values in (("ms", self.seconds), ("cpu_ms", self.cpu_seconds)):
            ms = sorted(1000 * v for v in values)
            quartiles = statistics.quantiles(ms, n=4) if len(ms) > 1 else ms * 3
            row.update({f"{key}_per_sentence": statistics.median(ms), f"{key}_min": ms[0], f"{key}_max": ms[-1],
                        f"{key}_q1": quartiles[0], f"{key}_q3": quartiles[2], f"all_{key}": ms})
        return row


# ---------------------------------------------------------------------------- main
def fmt_load(load):
    return "/".join(f"{x:.1f}" for x in load)


def spread(row, key):
    return f"{row[f'{key}_per_sentence']:.1f} [{row[f'{key}_min']:.1f}-{row[f'{key}_max']:.1f}]"


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
        rows, loads = [], []
        for size in args.batch_sizes:
            load = {"batch": size, "before": os.getloadavg()}
            runners = [Runner(name, *built[SYSTEMS[name][0]], data, args, size) for name in args.systems]
            for runner in runners:  # warm-up at every batch size: allocator, kernel selection of this shape
                runner.repeat(timed=False)
            for _ in range(args.repeats):  # the systems interleaved: a load change hits all of them alike
                for runner in runners:
                    runner.repeat()
            load["after"] = os.getloadavg()
            loads.append(load)
            for runner in runners:
                flops, weights, calls = system_costs(runner.name, args, size)
                row = {"system": runner.name, "batch": size, "forward_calls": calls, "gflop_per_sentence": flops / 1e9,
                       "weight_gb_per_sentence": weights * bytes_per_weight / 1e9, **runner.result()}
                row["sentences_per_second"] = 1000 / row["ms_per_sentence"]
                row["gflop_per_cpu_second"] = row["gflop_per_sentence"] * 1000 / row["cpu_ms_per_sentence"]
                rows.append(row)
                print(f"  {runner.name:10} batch {size:3}: {row['ms_per_sentence']:9.1f} ms/sentence "
                      f"({row['cpu_ms_per_sentence']:.1f} CPU)", flush=True)
            print(f"  load average (1/5/15 min) {fmt_load(load['before'])} before, {fmt_load(load['after'])} after",
                  flush=True)
    for row in rows:
        ref = next(r for r in rows if r["system"] == REFERENCE and r["batch"] == row["batch"])
        row["speedup"] = ref["ms_per_sentence"] / row["ms_per_sentence"]
        row["cpu_speedup"] = ref["cpu_ms_per_sentence"] / row["cpu_ms_per_sentence"]
        row["flop_ratio"] = ref["gflop_per_sentence"] / row["gflop_per_sentence"]
        row["traffic_ratio"] = ref["weight_gb_per_sentence"] / row["weight_gb_per_sentence"]
    threads = torch.get_num_threads()
    print(f"\nL={args.layers}, d={args.dim}, FFN {args.ffn}, V={args.vocab + 1:,} (AR {args.vocab:,}), P={args.prompt_length}, "
          f"source {args.src_pieces} pieces, {args.src_pieces} output tokens (CTC canvas {2 * args.src_pieces}), "
          f"{args.device}{' fp16' if args.fp16 else ''}, {threads} threads; ratios = {REFERENCE} / system")
    print(f"median of {args.repeats} repeats [min-max]; sga: adaptive to the fixed point, {args.passes_mean:g} denoising "
          f"passes on average ({ROUND} sentences per repeat: {round_passes(args.passes_mean)})")
    print(f"{'system':10} {'batch':>5} {'passes':>6} {'calls':>5} {'GFLOP/s.':>9} {'× FLOP':>7} {'GB w/s.':>8} "
          f"{'× traffic':>9} {'ms/sent. [min-max]':>24} {'× speed':>8} {'CPU ms/s. [min-max]':>24} {'× CPU':>6} "
          f"{'GFLOP/CPU s':>11}")
    for r in rows:
        passes = f"{r['mean_denoising_passes']:.2f}" if "mean_denoising_passes" in r else "-"
        print(f"{r['system']:10} {r['batch']:5} {passes:>6} {r['forward_calls']:5.3g} {r['gflop_per_sentence']:9.1f} "
              f"{r['flop_ratio']:7.2f} {r['weight_gb_per_sentence']:8.3f} {r['traffic_ratio']:9.2f} "
              f"{spread(r, 'ms'):>24} {r['speedup']:8.2f} {spread(r, 'cpu_ms'):>24} {r['cpu_speedup']:6.2f} "
              f"{r['gflop_per_cpu_second']:11.1f}")
    for load in loads:
        print(f"batch {load['batch']}: load average {fmt_load(load['before'])} before, {fmt_load(load['after'])} after")
    write_results(args.out, {"settings": vars(args), "command": " ".join(["python -m bench.sga_decoding"] + (
                      argv if argv is not None else sys.argv[1:])),
                  "machine": {"platform": platform.platform(), "processor": platform.processor(),
                              "cpus": os.cpu_count(), "threads": threads, "torch": torch.__version__,
                              "cuda": torch.cuda.get_device_name() if args.device == "cuda" else None},
                  "load_average": loads, "results": rows})
    print(f"\n{args.out}")


if __name__ == "__main__":
    main()
