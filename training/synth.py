"""Synthetic training queries for unlabeled passages (`hybrid synth`), kept only if BM25 agrees.

A causal LM writes one question per passage (prompts in training/prompts.py). The pair is kept only
if BM25 ranks the passage within the top ``keep_top`` for the generated question — a cheap check
that the question is about that passage and not generic ("What is the answer?"). Negatives come from
the same BM25 list, with the rank and seed rules of `hybrid mine`, so the output trains like mined
data. Offline the generator is the SmolLM2-135M-Instruct GGUF; any hub or local instruct LM (e.g.
``stanford-crfm/BioMedLM``) loads by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from hybrid.encoders.device import pick_device, pick_dtype
from hybrid.encoders.gguf_cache import materialize_gguf
from hybrid.recipes import passage_text, resolve_spec
from hybrid.retrieval.backend import SearchBackend
from hybrid.retrieval.types import StoredDocument
from hybrid.training.examples import example_record
from hybrid.training.mining import MiningConfig, bm25_lists, candidate_negatives, negative_records
from hybrid.training.prompts import SYNTH_INSTRUCTION, SYNTH_PLAIN, SYNTH_SYSTEM, SYNTH_USER

PASSAGE_CHARS = 1500  # of each passage shown to the generator (small LMs lose the thread beyond)
MIN_QUERY_WORDS = 3
_PREFIX = re.compile(r"^\s*((the )?(question|query) is|question|query|q)\s*[:.-]\s*", re.IGNORECASE)
_WORD = re.compile(r"\w+")


class QueryGenerator:
    """A causal LM that writes one question for each passage (greedy decoding: reproducible)."""

    # Prompts per generate call: a CPU gains nothing past a few, a GPU decodes 64 rows in about the time of one.
    cpu_batch_size = 8
    gpu_batch_size = 64

    def __init__(self, name_or_path: str, *, device: str | None = None, max_new_tokens: int = 48,
                 batch_size: int | None = None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        # Names resolve as for encoders: the smollm2-135m preset (packaged GGUF), a .gguf file, a folder
        # or a hub name such as stanford-crfm/BioMedLM.
        spec = resolve_spec(name_or_path, kind="decoder")
        source = spec.source
        if spec.gguf_file:  # de-quantise once into the model cache, as the encoder layer does
            source = str(materialize_gguf(Path(source), spec.gguf_file))
        self.device = pick_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"  # generation continues from the right end of every row
        self.model = AutoModelForCausalLM.from_pretrained(source, dtype=pick_dtype(self.device)).to(self.device).eval()
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size or (self.cpu_batch_size if self.device.type == "cpu" else self.gpu_batch_size)

    def prompt(self, passage: str) -> str:
        user = SYNTH_USER.format(passage=passage[:PASSAGE_CHARS])
        if self.tokenizer.chat_template:
            messages = [{"role": "system", "content": SYNTH_SYSTEM}, {"role": "user", "content": user}]
            return str(self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
        return SYNTH_PLAIN.format(system=SYNTH_SYSTEM, user=user)

    def generate(self, passages: list[str]) -> list[str]:
        out: list[str] = []
        for start in range(0, len(passages), self.batch_size):
            prompts = [self.prompt(p) for p in passages[start : start + self.batch_size]]
            batch = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            with torch.inference_mode():
                tokens = self.model.generate(**batch, max_new_tokens=self.max_new_tokens, do_sample=False,
                                             pad_token_id=self.tokenizer.pad_token_id)
            new = tokens[:, batch["input_ids"].shape[1] :]
            out.extend(clean_query(t) for t in self.tokenizer.batch_decode(new, skip_special_tokens=True))
        return out


def clean_query(generated: str) -> str:
    """First non-empty line, without a ``Question:`` label or surrounding quotes."""
    line = next((ln for ln in generated.splitlines() if ln.strip()), "")
    return _PREFIX.sub("", line).strip().strip('"“”').strip()


def copied_run(query: str, passage: str, words: int) -> bool:
    """True if ``query`` repeats ``words`` consecutive words of ``passage`` (case-insensitive).

    Small generators often paste the title or a sentence instead of asking about it; BM25 then
    ranks the passage first, so the rank filter alone would keep such a "query".
    """
    q = _WORD.findall(query.lower())
    p = _WORD.findall(passage.lower())
    grams = {tuple(p[i : i + words]) for i in range(len(p) - words + 1)}
    return any(tuple(q[i : i + words]) in grams for i in range(len(q) - words + 1))


@dataclass(frozen=True)
class SynthConfig:
    keep_top: int = 10  # keep a pair if BM25 ranks its passage within this many
    limit: int | None = None  # passages to write queries for
    max_copied_words: int | None = 8  # drop a query that repeats this many consecutive passage words
    mining: MiningConfig = field(default_factory=MiningConfig)

    def __post_init__(self) -> None:
        if not 1 <= self.keep_top <= self.mining.depth:
            raise ValueError(f"keep_top must be 1..{self.mining.depth} (the BM25 depth)")


@dataclass
class SynthReport:
    passages: int = 0
    kept: int = 0
    too_short: int = 0  # generated text under 3 words
    copied: int = 0  # pasted from the passage rather than asked about it
    not_in_top: int = 0  # BM25 ranked the passage below keep_top
    examples_of_dropped: list[str] = field(default_factory=list)


def synthesize(backend: SearchBackend, documents: Iterable[tuple[str, StoredDocument]], generator: QueryGenerator,
               config: SynthConfig, *, batch_size: int = 32, report: SynthReport | None = None
               ) -> Iterator[dict[str, object]]:
    """Training examples ``{query: generated question, positives: [passage], negatives: from its BM25 list}``."""
    report = report if report is not None else SynthReport()
    batch: list[tuple[str, StoredDocument]] = []
    for doc_id, doc in documents:
        if config.limit is not None and report.passages >= config.limit:
            break
        if not doc.text.strip():
            continue
        report.passages += 1
        batch.append((doc_id, doc))
        if len(batch) == max(batch_size, generator.batch_size):
            yield from _filtered(backend, batch, generator, config, report)
            batch = []
    if batch:
        yield from _filtered(backend, batch, generator, config, report)


def _filtered(backend: SearchBackend, batch: list[tuple[str, StoredDocument]], generator: QueryGenerator,
              config: SynthConfig, report: SynthReport) -> Iterator[dict[str, object]]:
    queries = generator.generate([passage_text(d.title, d.text) for _, d in batch])
    usable = []
    for (doc_id, doc), query in zip(batch, queries):
        if len(query.split()) < MIN_QUERY_WORDS:
            report.too_short += 1
        elif config.max_copied_words and copied_run(query, passage_text(doc.title, doc.text), config.max_copied_words):
            report.copied += 1
        else:
            usable.append(((doc_id, doc), query))
    ranked_lists = bm25_lists(backend, [q for _, q in usable], config.mining.depth)
    stored = backend.fetch(sorted({d for ranked in ranked_lists for d, _ in ranked}))
    for ((doc_id, doc), query), ranked in zip(usable, ranked_lists):
        top = [d for d, _ in ranked[: config.keep_top]]
        if doc_id not in top:
            report.not_in_top += 1
            if len(report.examples_of_dropped) < 5:
                report.examples_of_dropped.append(query)
            continue
        report.kept += 1
        candidates = candidate_negatives(ranked, {doc_id}, config.mining, stored)
        yield example_record(f"{doc_id}#synth", query, SYNTH_INSTRUCTION,
                             [{"id": doc_id, "title": doc.title, "text": doc.text}],
                             negative_records(candidates, stored, config.mining, doc_id))
