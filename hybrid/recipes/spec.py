"""What an encoder is: a frozen description that presets, free-form models and trained runs share."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from hybrid.recipes.instructions import DEFAULT_INSTRUCTION

Kind = Literal["decoder", "sentence-transformers"]
Pooling = Literal["last_token", "mean", "cls"]
Similarity = Literal["dot", "cosine"]

# BMRetriever's templates, verbatim from the authors' prompt.py.
BMRETRIEVER_QUERY_TEMPLATE = "{instruction}\nQuery: {query}"
BMRETRIEVER_PASSAGE_TEMPLATE = "Represent this passage\npassage: {passage}"


@dataclass(frozen=True)
class EncoderSpec:
    """Everything that decides which vector a text gets.

    Attributes:
        model_id: portable identity (hub name, or the preset's canonical name); goes into fingerprints.
        source: where the weights load from: a hub name or a local folder.
        kind: ``decoder`` (BMRetriever recipe on a causal LM) or ``sentence-transformers``.
        pooling: ``last_token`` for decoders; what the sentence-transformers model does otherwise.
        normalize: L2-normalise embeddings.
        similarity: ``dot`` (BMRetriever: raw dot product) or ``cosine``.
        query_template / passage_template: ``{instruction}``/``{query}`` and ``{passage}`` placeholders.
        default_instruction: used when a query template wants an instruction and none is given.
        max_length: tokens per text, EOS included for decoders.
        dimension: embedding size when known without loading (presets).
        gguf_file: file name inside ``source`` for GGUF checkpoints.
        revision: hub revision to load.
        quantize: ``int8`` for dynamic int8 quantisation of linear layers on CPU (changes the vectors).
        name: preset name, if it came from one.
    """

    model_id: str
    source: str
    kind: Kind
    pooling: Pooling
    normalize: bool
    similarity: Similarity
    query_template: str = "{query}"
    passage_template: str = "{passage}"
    default_instruction: str | None = None
    max_length: int = 512
    dimension: int | None = None
    gguf_file: str | None = None
    revision: str | None = None
    quantize: Literal["int8"] | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if "{query}" not in self.query_template:
            raise ValueError(f"query_template {self.query_template!r} has no {{query}} placeholder")
        if "{passage}" not in self.passage_template:
            raise ValueError(f"passage_template {self.passage_template!r} has no {{passage}} placeholder")
        if self.kind == "decoder" and self.pooling != "last_token":
            raise ValueError("decoder encoders use last_token pooling (BMRetriever recipe)")
        if not 8 <= self.max_length <= 32768:
            raise ValueError(f"max_length {self.max_length} out of range 8..32768")

    @property
    def location(self) -> str:
        """What ``load_encoder`` takes to load these weights again: a hub name, a folder or a GGUF file."""
        return f"{self.source.rstrip('/')}/{self.gguf_file}" if self.gguf_file else self.source

    @property
    def uses_instruction(self) -> bool:
        return "{instruction}" in self.query_template

    def replace(self, **changes: object) -> EncoderSpec:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def format_query(self, query: str, instruction: str | None = None) -> str:
        """The exact text embedded for a query; the instruction is used only if the template has a slot."""
        if not self.uses_instruction:
            return self.query_template.format(query=query)
        return self.query_template.format(instruction=instruction or self.default_instruction or "", query=query)

    def format_passage(self, passage: str) -> str:
        return self.passage_template.format(passage=passage)


def bmretriever_spec(model_id: str, source: str | None = None, **options: object) -> EncoderSpec:
    """The BMRetriever recipe on any causal LM: templates, EOS + last-token pooling, dot product."""
    base: dict[str, object] = {
        "model_id": model_id,
        "source": source or model_id,
        "kind": "decoder",
        "pooling": "last_token",
        "normalize": False,
        "similarity": "dot",
        "query_template": BMRETRIEVER_QUERY_TEMPLATE,
        "passage_template": BMRETRIEVER_PASSAGE_TEMPLATE,
        "default_instruction": DEFAULT_INSTRUCTION,
        "max_length": 512,
    }
    base.update(options)
    return EncoderSpec(**base)  # type: ignore[arg-type]


def passage_text(title: str | None, text: str) -> str:
    """A BEIR document as BMRetriever embeds it: ``title + " " + text`` (title may be empty)."""
    return f"{title} {text}".strip() if title else text
