"""Tiny randomly initialised models of real architectures, built offline inside the tests."""

from __future__ import annotations

from pathlib import Path

WORDS = "the a of in and to is was protein cell gene mice cancer trial dose patients results study claim".split()


def build_word_tokenizer(eos: str = "<|endoftext|>", pad: str | None = None):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = [eos, "[UNK]"] + ([pad] if pad else [])
    vocab = {tok: i for i, tok in enumerate(specials + WORDS + ["query", "passage", "represent", "this", "\n", ":"])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token=eos, unk_token="[UNK]", pad_token=pad)


def _save_tiny(folder: Path, config_class, model_class, *, pad: str | None, seed: int, **sizes: int) -> Path:  # type: ignore[no-untyped-def]
    """A 2-layer, 32-wide model of ``config_class``'s architecture with the word tokenizer, saved to ``folder``."""
    import torch

    tokenizer = build_word_tokenizer(pad=pad)
    torch.manual_seed(seed)
    config = config_class(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                          intermediate_size=64, eos_token_id=tokenizer.eos_token_id,
                          bos_token_id=tokenizer.eos_token_id, **sizes)
    model_class(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_tiny_gpt_neox(folder: Path, *, pad: str | None = None, seed: int = 0) -> Path:
    """A 2-layer GPT-NeoX (BMRetriever-410M's architecture): an encoder backbone for decoder-recipe tests."""
    from transformers import GPTNeoXConfig, GPTNeoXModel

    return _save_tiny(folder, GPTNeoXConfig, GPTNeoXModel, pad=pad, seed=seed, max_position_embeddings=128)


def save_tiny_llama_lm(folder: Path, *, seed: int = 0) -> Path:
    """A 2-layer Llama causal LM (SmolLM2's architecture): a query generator for synth tests."""
    from transformers import LlamaConfig, LlamaForCausalLM

    return _save_tiny(folder, LlamaConfig, LlamaForCausalLM, pad=None, seed=seed, num_key_value_heads=4,
                      max_position_embeddings=512)


def save_tiny_cross_encoder(folder: Path, *, seed: int = 0) -> Path:
    """A 2-layer, 32-wide BERT with a one-output head and MiniLM's real WordPiece tokenizer (query and
    passage joined by [SEP] as real cross-encoders read them)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from hybrid.recipes import resolve_spec

    tokenizer = AutoTokenizer.from_pretrained(resolve_spec("minilm").source)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
