"""A cheap deterministic stand-in encoder for engine-scale runs: a 1-layer GPT-NeoX with random weights
and a word-level tokenizer over a corpus's own vocabulary, saved as a local model folder.

Every distinct word has its own random embedding, so documents get distinct, spread-out vectors (a
tokenizer that knew only a few words would map most documents to nearly the same point, and nearest-
neighbour recall would measure ties). The vectors mean nothing: use it for throughput, memory, disk and
ANN recall against exact search, never for retrieval quality.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

_WORD = re.compile(r"[a-z][a-z0-9-]+")


def corpus_words(corpus: Path, limit: int = 30_000) -> list[str]:
    """The ``limit`` most frequent lower-cased words of a corpus.jsonl."""
    counts: Counter[str] = Counter()
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            counts.update(_WORD.findall(f"{doc.get('title', '')} {doc['text']}".lower()))
    return [w for w, _ in counts.most_common(limit)]


def save_standin(folder: Path, words: list[str], *, width: int = 64, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import GPTNeoXConfig, GPTNeoXModel, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "[UNK]"]
    vocab = {tok: i for i, tok in enumerate(specials + [w for w in words if w not in specials])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>", unk_token="[UNK]")
    torch.manual_seed(seed)
    config = GPTNeoXConfig(vocab_size=len(vocab), hidden_size=width, num_hidden_layers=1, num_attention_heads=4,
                           intermediate_size=2 * width, max_position_embeddings=512,
                           eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id)
    model = GPTNeoXModel(config).eval()
    with torch.no_grad():  # documents end in the same EOS token, whose own embedding would dominate every vector
        model.embed_in.weight[tokenizer.eos_token_id].zero_()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
