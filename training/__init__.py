"""Training: BM25 hard-negative mining, synthetic queries and pairs, and contrastive fine-tuning of the
dense encoder; installed as ``hybrid.training``."""
