"""Can SGA's prompts steer a frozen backbone? Memorising a few training pairs, frozen vs unfrozen.

A diagnostic for the tiny XLM-R fixture (paper 003 keeps XLM-R frozen and trains only the
prompts and W_K/W_V). The same ``xlmr_sga`` model (semantic + CTC alignment + CTC denoising
passes) is trained on one fixed batch of ``--sentences`` pairs for ``--steps`` Adam steps:

* ``frozen``: the paper's setting, prompts + W_K/W_V only;
* ``unfrozen``: every XLM-R weight trains too (not SGA; it shows that the passes, the canvas
  and the CTC losses can fit the batch at all).

It prints, per configuration, the trainable parameters, the alignment and denoising CTC loss
(nats per target piece) before and after, how many of the pairs ``fairseq``'s
``IterativeRefinementGenerator`` then reproduces exactly, and how much the alignment logits
move when each sentence's source is swapped for another's (the influence of the semantic
prefix). Dropout is off, so the numbers measure fitting, not regularisation.

    python -m bench.sga_prompt_capacity              # the shipped pretrained fixture, benchmark small
    python -m bench.sga_prompt_capacity --data SGA_DATA --xlmr XLMR_DIR
"""
import argparse
import os
import subprocess
import time

import torch

from bench._results import write_results


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shipped_fixture_data(work):
    """Benchmark small, the shipped pretrained XLM-R (fixtures/benchmark-small) and its de_DE-en_XX SGA data."""
    from fairseq_xlgen.cli.make_fixtures import config_from_flags
    from fairseq_xlgen.testbed.pretrained_fixtures import build_fixtures
    from fairseq_xlgen.testbed.synthetic_benchmark import generate_benchmark

    benchmark, fixtures, data = (os.path.join(work, name) for name in ("benchmark", "fixtures", "sga-data"))
    generate_benchmark(benchmark, seed=1, size="small", progress=False)
    corpus = [os.path.join(benchmark, "mono", f"{lang}.txt") for lang in ("en_XX", "de_DE", "ru_RU", "zh_CN")]
    shipped = os.path.join(REPO, "fixtures", "benchmark-small")
    with open(shipped + ".flags", encoding="utf-8") as f:
        cfg = config_from_flags(f.read().split())
    build_fixtures(fixtures, corpus, cfg, prebuilt=shipped)
    xlmr = os.path.join(fixtures, "xlmr.base")
    if not os.path.isfile(os.path.join(data, "train.de_DE-en_XX.de_DE.bin")):
        subprocess.run(["bash", os.path.join(REPO, "data_prep", "prepare_sga.sh"),
                        os.path.join(benchmark, "tasks", "translation"), xlmr, data, "de_DE-en_XX"],
                       check=True, capture_output=True)
    return data, xlmr


def build(data, xlmr, prompt_length, extra=()):
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    user_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fairseq_xlgen")
    argv = [data, "--user-dir", user_dir, "--task", "sga_translation", "--source-lang", "de_DE",
            "--target-lang", "en_XX", "--arch", "xlmr_sga_tiny", "--pretrained-xlmr-checkpoint", xlmr,
            "--prompt-length", str(prompt_length), "--criterion", "sga_ctc", *extra]
    args = options.parse_args_and_arch(options.get_training_parser(), argv)
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    model, criterion = task.build_model(cfg.model), task.build_criterion(cfg.criterion)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout) or module.__class__.__name__ == "FairseqDropout":
            module.p = 0.0
    return args, task, model, criterion


def source_influence(model, sample):
    """Mean |Δ logit| of the alignment pass when every sentence gets another sentence's semantic prefix."""
    with torch.no_grad():
        encoder_out = model.encode(sample["net_input"]["src_tokens"])
        canvas, _ = model.alignment_canvas(encoder_out)
        own = model.unit_logits("alignment", canvas, encoder_out)
        swapped = {k: v.roll(1, dims=1 if k in ("sem_key", "sem_value") else 0) for k, v in encoder_out.items()}
        other = model.unit_logits("alignment", canvas, swapped)
    return float((own - other).abs().mean()), float(own.std())


def exact_matches(task, args, model, sample):
    from fairseq import utils

    d = task.target_dictionary
    model.eval()
    with torch.no_grad():
        hypos = task.build_generator([model], args).generate([model], sample)
    model.train()
    refs = [utils.strip_pad(t, d.pad()) for t in sample["target"]]
    return sum(torch.equal(h[0]["tokens"][h[0]["tokens"].ne(d.bos())], r[r.ne(d.bos())]) for h, r in zip(hypos, refs))


def measure(data, xlmr, config, sentences, steps, lr, prompt_length, seed):
    torch.manual_seed(seed)
    args, task, model, criterion = build(data, xlmr, prompt_length)
    if config == "unfrozen":
        for p in model.xlmr.parameters():
            p.requires_grad_(True)
    task.load_dataset("train")
    dataset = task.dataset("train")
    sample = dataset.collater([dataset[i] for i in range(sentences)])
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.98))
    influence_before = source_influence(model, sample)
    start, losses = time.time(), []
    model.train()
    for step in range(steps + 1):
        model.set_num_updates(step)
        loss, pieces, log = criterion(model, sample)
        losses.append((log["l1"] / pieces, log.get("l2", 0.0) / pieces))
        if step < steps:
            optimizer.zero_grad()
            (loss / pieces).backward()
            optimizer.step()
    return {
        "config": config, "trainable": sum(p.numel() for p in params), "lr": lr, "steps": steps,
        "sentences": sentences, "ctc_alignment": [losses[0][0], losses[-1][0]],
        "ctc_denoising": [losses[0][1], losses[-1][1]], "exact": exact_matches(task, args, model, sample),
        "source_influence_before": influence_before[0], "source_influence_after": source_influence(model, sample)[0],
        "logit_std": influence_before[1], "seconds": round(time.time() - start, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="sga_translation data (data_prep/prepare_sga.sh) with de_DE-en_XX; "
                        "default: benchmark small with the shipped fixture, built under --work")
    parser.add_argument("--xlmr", help="XLM-R directory the data were binarized for (with --data)")
    parser.add_argument("--work", default="work/bench-sga-capacity", help="where the default data are built")
    parser.add_argument("--sentences", type=int, default=16)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--prompt-length", type=int, default=8)
    parser.add_argument("--frozen-lr", type=float, default=1e-2, help="Adam lr of the prompts (frozen backbone)")
    parser.add_argument("--unfrozen-lr", type=float, default=1e-3, help="Adam lr when XLM-R trains too")
    parser.add_argument("--configs", default="frozen,unfrozen",
                        help="comma-separated: frozen (the paper's setting) and/or unfrozen (the control)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="bench/results/sga_prompt_capacity.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if bool(args.data) != bool(args.xlmr):
        parser.error("--data and --xlmr go together")
    lrs = {"frozen": args.frozen_lr, "unfrozen": args.unfrozen_lr}
    configs = args.configs.split(",")
    if not configs or not set(configs) <= set(lrs):
        parser.error(f"--configs {args.configs}: choose from frozen, unfrozen")
    if not args.data:
        args.data, args.xlmr = shipped_fixture_data(args.work)
    rows = [measure(args.data, args.xlmr, config, args.sentences, args.steps, lrs[config], args.prompt_length,
                    args.seed) for config in configs]
    print(f"{'config':9} {'trainable':>10} {'CTC align':>14} {'CTC denoise':>14} {'exact':>6} "
          f"{'source influence (logit std)':>29} {'s':>6}")
    for r in rows:
        print(f"{r['config']:9} {r['trainable']:>10,} {r['ctc_alignment'][0]:6.2f} → {r['ctc_alignment'][1]:5.2f} "
              f"{r['ctc_denoising'][0]:6.2f} → {r['ctc_denoising'][1]:5.2f} {r['exact']:>3}/{r['sentences']:<2} "
              f"{r['source_influence_before']:9.3f} → {r['source_influence_after']:.3f} ({r['logit_std']:.2f}) "
              f"{r['seconds']:6.1f}")
    write_results(args.out, {"settings": vars(args), "rows": rows}, work=args.work)


if __name__ == "__main__":
    main()
