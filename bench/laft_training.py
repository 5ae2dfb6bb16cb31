"""Benchmark of LAFT training cost (paper 001): time per update, peak memory and optimizer
state of LAFT stage 2 (only the task module trains) next to full finetuning and the other
baselines of the same backbone, at the same batch, side by side in one run.

Each configuration runs in its own subprocess (its own peak RSS / CUDA peak), on random
tokens of a summarization-like shape (source 4× the target: 128 and 32 tokens by default),
with the model's own forward, label-smoothed cross-entropy, backward and an Adam step over
the trainable parameters (as fairseq's optimizer holds only those). Prints a table, writes JSON.

    python -m bench.laft_training                          # mbart_large-sized, batch 2, 3 timed updates
    python -m bench.laft_training --size tiny --batch 16   # the tiny fixture's size
    python -m bench.laft_training --device cuda --fp16     # on a GPU
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import torch

CONFIGS = {  # name: (arch suffix, extra options)
    "full": ("laft", {"laft_variant": "full"}),
    "enc": ("laft", {"laft_variant": "enc"}),
    "laft stage 2": ("laft", {"laft_variant": "laft", "laft_stage": 2}),
    "laft stage 1": ("laft", {"laft_variant": "laft", "laft_stage": 1}),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="large", choices=("large", "base", "tiny"))
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--batch", type=int, default=2, help="sentences per update")
    parser.add_argument("--src-len", type=int, default=128)
    parser.add_argument("--tgt-len", type=int, default=32)
    parser.add_argument("--vocab", type=int, default=250_027, help="embedding rows (mbart.cc25: 250,027)")
    parser.add_argument("--updates", type=int, default=3, help="timed updates (after one warm-up update)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fp16", action="store_true", help="fp16 weights with autocast-free half forward (GPU)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch's default)")
    parser.add_argument("--out", default="bench/results/laft_training.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build_model(size, vocab, options):
    import fairseq_xlgen  # noqa: F401  (registers the archs)
    from fairseq.data import Dictionary
    from fairseq.models import ARCH_CONFIG_REGISTRY, ARCH_MODEL_REGISTRY

    from fairseq_xlgen.pretrained import MBART_CC25_LANGS

    dictionary = Dictionary()
    for i in range(vocab - len(dictionary) - len(MBART_CC25_LANGS) - 1):
        dictionary.add_symbol(f"w{i}")
    for lang in MBART_CC25_LANGS:
        dictionary.add_symbol(f"[{lang}]")
    dictionary.add_symbol("<mask>")
    task = argparse.Namespace(source_dictionary=dictionary, target_dictionary=dictionary)
    arch = f"mbart_laft_{size}"
    args = argparse.Namespace(arch=arch, task="translation_from_pretrained_bart", layernorm_embedding=True,
                              encoder_normalize_before=True, decoder_normalize_before=True,
                              laft_langs="en_XX", dropout=0.1, attention_dropout=0.1, **options)
    ARCH_CONFIG_REGISTRY[arch](args)
    torch.manual_seed(1)
    model = ARCH_MODEL_REGISTRY[arch].build_model(args, task)
    with torch.no_grad():  # any orthonormal components: the cost does not depend on their values
        c = torch.linalg.qr(torch.randn(model.encoder.language_components.shape[1:]))[0] \
            if hasattr(model.encoder, "language_components") else None
        if c is not None:
            model.encoder.language_components.copy_(c.unsqueeze(0))
            model.encoder.components_source = "bench"
    return model, dictionary


def worker(args, name):
    """One configuration: time ``--updates`` updates, report peak memory and optimizer state."""
    from fairseq.criterions.label_smoothed_cross_entropy import label_smoothed_nll_loss

    if args.threads:
        torch.set_num_threads(args.threads)
    _, options = CONFIGS[name]
    model, dictionary = build_model(args.size, args.vocab, options)
    device = torch.device(args.device)
    model.to(device)
    if args.fp16:
        model.half()
        if hasattr(model.encoder, "language_components"):  # components and removal stay fp32
            model.encoder.language_components.data = model.encoder.language_components.data.float()
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-5)
    generator = torch.Generator().manual_seed(0)
    en = dictionary.index("[en_XX]")

    def batch():
        src = torch.randint(10, len(dictionary) - 30, (args.batch, args.src_len), generator=generator)
        src[:, -2], src[:, -1] = dictionary.eos(), en
        tgt = torch.randint(10, len(dictionary) - 30, (args.batch, args.tgt_len), generator=generator)
        prev = torch.cat([torch.full((args.batch, 1), en), tgt[:, :-1]], 1)
        return src.to(device), torch.full((args.batch,), args.src_len, device=device), prev.to(device), tgt.to(device)

    def update():
        src, lengths, prev, tgt = batch()
        logits, _ = model(src, lengths, prev)
        lprobs = torch.log_softmax(logits.float(), -1)
        loss, _ = label_smoothed_nll_loss(lprobs.view(-1, lprobs.size(-1)), tgt.view(-1), 0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    update()  # warm-up (allocations, Adam state)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(args.updates):
        update()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / args.updates
    state_bytes = sum(t.numel() * t.element_size() for s in optimizer.state.values() for t in s.values()
                      if torch.is_tensor(t))
    return {"config": name, "seconds_per_update": seconds,
            "trainable": sum(p.numel() for p in trainable), "total": sum(p.numel() for p in model.parameters()),
            "optimizer_state_mb": state_bytes / 2**20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_cuda_mb": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None}


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args, args.worker)))
        return
    rows = []
    base = [a for a in (argv if argv is not None else sys.argv[1:])]
    for name in args.configs:
        proc = subprocess.run([sys.executable, "-m", "bench.laft_training", *base, "--worker", name],
                              capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS="ignore"))
        if proc.returncode != 0:
            sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    full = next((r for r in rows if r["config"] == "full"), rows[0])
    print(f"\nmbart_laft_{args.size}, batch {args.batch} × source {args.src_len} / target {args.tgt_len}, "
          f"{args.device}{' fp16' if args.fp16 else ''}, threads {torch.get_num_threads() if not args.threads else args.threads}")
    print(f"{'config':14} {'s/update':>9} {'× full':>7} {'trainable':>13} {'optim MB':>9} {'× full':>7} {'peak MB':>9}")
    for r in rows:
        r["time_ratio"] = r["seconds_per_update"] / full["seconds_per_update"]
        r["optimizer_ratio"] = r["optimizer_state_mb"] / full["optimizer_state_mb"]
        peak = r["peak_cuda_mb"] if r["peak_cuda_mb"] is not None else r["peak_rss_mb"]
        print(f"{r['config']:14} {r['seconds_per_update']:9.3f} {r['time_ratio']:7.2f} {r['trainable']:13,} "
              f"{r['optimizer_state_mb']:9.1f} {r['optimizer_ratio']:7.3f} {peak:9.0f}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump({"settings": {k: v for k, v in vars(args).items() if k != "worker"},
                   "machine": {"platform": platform.platform(), "processor": platform.processor(),
                               "torch": torch.__version__, "cuda": torch.cuda.get_device_name()
                               if args.device == "cuda" else None},
                   "results": rows}, f, indent=2)
    os.replace(args.out + ".tmp", args.out)
    print(f"\n{args.out}")


if __name__ == "__main__":
    main()
