"""fairseq-xlgen: a fairseq --user-dir plugin for zero-shot cross-lingual text generation.

fairseq itself is not listed here: it is built from the official 0.12.2 sdist plus
third_party/fairseq-0.12.2-xlgen.patch by `make env` (see README).
"""
from setuptools import find_packages, setup

CONSOLE_SCRIPTS = {
    "xlgen-userdir": "fairseq_xlgen.userdir:main",
    "xlgen-make-benchmark": "fairseq_xlgen.cli.make_benchmark:main",
    "xlgen-make-fixtures": "fairseq_xlgen.cli.make_fixtures:main",
    "xlgen-make-pretraining-text": "fairseq_xlgen.cli.make_pretraining_text:main",
    "xlgen-spm-encode": "fairseq_xlgen.cli.spm_encode:main",
    "xlgen-train-embeddings": "fairseq_xlgen.cli.train_embeddings:main",
    "xlgen-map-embeddings": "fairseq_xlgen.cli.map_embeddings:main",
    "xlgen-induce-lexicon": "fairseq_xlgen.cli.induce_lexicon:main",
    "xlgen-score": "fairseq_xlgen.cli.score:main",
    "xlgen-langid": "fairseq_xlgen.cli.langid:main",
    "xlgen-xlrs": "fairseq_xlgen.cli.xlrs:main",
    "xlgen-average-checkpoints": "fairseq_xlgen.cli.average_checkpoints:main",
    "xlgen-language-components": "fairseq_xlgen.cli.language_components:main",
    "xlgen-laft-tsne": "fairseq_xlgen.cli.laft_tsne:main",
    "xlgen-understanding-baselines": "fairseq_xlgen.cli.understanding_baselines:main",
    "xlgen-text-to-text": "fairseq_xlgen.cli.text_to_text:main",
}

setup(
    name="fairseq-xlgen",
    version="0.1.0",
    description="fairseq plugin: zero-shot cross-lingual generation (CSR, LAFT, SGA, multi-source + XLRS)",
    packages=find_packages(include=["fairseq_xlgen", "fairseq_xlgen.*"]),
    python_requires=">=3.10",
    install_requires=[
        "torch==2.13.0",
        "numpy",
        "scipy",
        "sentencepiece",
        "gensim",
        "sacrebleu>=2.0",
        "compare-mt",
        "rouge-score",
        "langid",
        "matplotlib",
        "scikit-learn",
        "tqdm",
        "nltk",
        "jieba==0.42.1",  # MIT; Chinese word segmentation of CSR's words units (--lexicon-unit words)
    ],
    extras_require={"test": ["pytest", "pytest-timeout", "pytest-xdist"]},
    entry_points={"console_scripts": [f"{k}={v}" for k, v in CONSOLE_SCRIPTS.items()]},
)
