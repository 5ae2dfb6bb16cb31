"""How much each LAFT removal form (paper 001 §3.1 step 2) takes away, on a real encoder.

For every token of the given text: ‖e_i‖, the norm of the removed vector and their ratio,
for the ``sentence`` (default: c cᵀ ē), ``literal`` (c cᵀ ē / ‖ē‖², the printed equation) and
``token`` (c cᵀ e_i) forms, with the components of xlgen-language-components. Prints a
table, writes JSON.

    python -m bench.laft_removal --model-dir work/pretrained/mbart.cc25 --components components.pt \\
        --text en_XX=mono/en_XX.txt zh_CN=mono/zh_CN.txt
    python -m bench.laft_removal            # the tiny fixture and benchmark, built under --work
"""
import argparse
import json
import os

from fairseq_xlgen.analysis.language_component_estimation import Estimator, estimate_components
from fairseq_xlgen.data.language_components_file import load_components
from fairseq_xlgen.modules.language_components import REMOVAL_MODES, remove_language_component


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", help="mbart.cc25-format directory (default: the tiny fixture, built)")
    parser.add_argument("--components", help="xlgen-language-components output (default: estimated here)")
    parser.add_argument("--text", nargs="+", metavar="LANG=FILE", help="default: the tiny benchmark's mono text")
    parser.add_argument("--work", default="work/bench-tiny", help="where the default fixture is built")
    parser.add_argument("--max-sentences", type=int, default=500)
    parser.add_argument("--out", default="bench/results/laft_removal.json")
    args = parser.parse_args(argv)
    if not args.model_dir:
        from bench._tiny_models import tiny_benchmark_and_mbart

        args.model_dir, mono = tiny_benchmark_and_mbart(args.work)
        args.text = args.text or [f"{lang}={path}" for lang, path in mono.items()]
    if not args.components:
        args.components = os.path.join(args.work, "components.pt")
        if not os.path.exists(args.components):
            texts = dict(item.partition("=")[::2] for item in args.text)
            estimate_components(args.model_dir, texts, args.components, progress=False)
    estimator = Estimator(args.model_dir)
    payload = load_components(args.components)
    rows = []
    for item in args.text:
        lang, _, path = item.partition("=")
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f if line.strip()][: args.max_sentences]
        e, mask = estimator.encode(lines, lang)
        batch_size = e.shape[1]
        c = payload["languages"][lang]["components"].unsqueeze(0).expand(batch_size, -1, -1)
        token_norms = e.norm(dim=-1).t()[mask]
        for mode in REMOVAL_MODES:
            _, removed = remove_language_component(e, mask, c, mode)
            removed_norms = removed.norm(dim=-1).t()[mask]
            rows.append({"lang": lang, "mode": mode, "token_norm": token_norms.mean().item(),
                         "removed_norm": removed_norms.mean().item(),
                         "ratio": (removed_norms / token_norms).mean().item(), "tokens": int(mask.sum())})
    print(f"{'lang':6} {'form':9} {'mean ‖e_i‖':>11} {'mean ‖removed‖':>15} {'mean ratio':>11}")
    for r in rows:
        print(f"{r['lang']:6} {r['mode']:9} {r['token_norm']:11.3f} {r['removed_norm']:15.4f} {r['ratio']:11.4f}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump({"settings": vars(args), "results": rows}, f, indent=2)
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
