"""The tiny models' sizes, for the fixture builder (:mod:`fairseq_xlgen.testbed.pretrained_fixtures`) and the
``*_tiny`` architectures (:mod:`fairseq_xlgen.testbed.architectures`) alike."""
from dataclasses import dataclass, field


@dataclass
class TinyModelConfig:
    """Sizes of the tiny models (the public ones: mBART 12+12 layers d=1024 / XLM-R 12 layers d=768)."""

    embed_dim: int = field(default=64, metadata={"help": "mBART model dimension"})
    ffn_dim: int = field(default=128, metadata={"help": "mBART feed-forward dimension"})
    layers: int = field(default=2, metadata={"help": "mBART layers per encoder/decoder"})
    heads: int = field(default=4, metadata={"help": "mBART attention heads"})
    vocab_size: int = field(default=2000, metadata={"help": "SentencePiece vocabulary (upper bound)"})
    max_positions: int = field(default=256, metadata={"help": "learned positions"})
    seed: int = field(default=1, metadata={"help": "seed of the parameter initialization"})
    pretrain_updates: int = field(default=0, metadata={
        "help": "updates of mBART multilingual denoising pretraining on the corpus "
                "(files named <cc25 code>.txt); 0: random init"})
    pretrain_lr: float = field(default=1e-3, metadata={
        "help": "peak learning rate of the mBART pretraining (and of XLM-R's unless --xlmr-pretrain-lr)"})
    pretrain_tokens_per_sample: int = field(default=128, metadata={
        "help": "pretraining samples are blocks of complete lines of at most this many tokens (mBART and "
                "XLM-R); attention cost grows with its square, and the benchmark's documents have <= 100 pieces"})
    bos_block_share: float = field(default=1.0, metadata={
        "help": "share of mBART pretraining blocks that start with <s> as in mbart.cc25 (1); the others are in "
                "the finetuning format x </s> [L] (task multilingual_denoising_mixed_bos)"})
    embedding_init: str = field(default="random", metadata={
        "help": "mBART's token embeddings before pretraining: random (fairseq's init) or skipgram (joint skip-gram "
                "vectors of the pretraining text's pieces, all languages in one space, scaled to the random rows' norm)"})
    xlmr_embed_dim: int = field(default=64, metadata={"help": "XLM-R model dimension"})
    xlmr_ffn_dim: int = field(default=128, metadata={"help": "XLM-R feed-forward dimension"})
    xlmr_layers: int = field(default=2, metadata={"help": "XLM-R layers"})
    xlmr_heads: int = field(default=4, metadata={"help": "XLM-R attention heads"})
    xlmr_pretrain_updates: int = field(default=0, metadata={
        "help": "updates of XLM-R masked-LM pretraining on all corpus files together; 0: random init"})
    xlmr_max_tokens: int = field(default=4096, metadata={"help": "tokens per batch of the XLM-R pretraining"})
    xlmr_pretrain_lr: float = field(default=0.0, metadata={
        "help": "peak learning rate of the XLM-R pretraining; 0: --pretrain-lr"})
    xlmr_mask_prob: float = field(default=0.15, metadata={
        "help": "share of the pieces masked in the XLM-R pretraining (RoBERTa's and XLM-R's 0.15; a higher share gives "
                "a tiny model more predictions per update, Wettig et al. 2023)"})
    xlmr_embedding_init: str = field(default="random", metadata={
        "help": "XLM-R's token embeddings before pretraining: random or skipgram (as --embedding-init)"})
