"""The embedded testbed: the synthetic benchmark, the backbones' pretraining text, the tiny pretrained
fixtures in the public on-disk formats, their sizes and ``*_tiny`` architectures, and the runner of the
Python recipes (``make demo``, ``make compare``). Real runs use none of it (docs/architecture.md)."""
