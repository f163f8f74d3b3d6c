"""Training: BM25 hard-negative mining and contrastive fine-tuning of the dense encoder (issue #7)."""
