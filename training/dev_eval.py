"""Dense nDCG@10 on a dev split while training, with the project's metrics (hybrid.metrics).

The dev corpus is the BEIR folder's corpus.jsonl: every document, or — to keep evaluation cheap on
a CPU — the documents judged for the dev queries plus ``distractors`` others chosen reproducibly.
The same split through `hybrid eval` (full index, bm25/dense/hybrid) is the figure to report; this
one picks the best checkpoint and drives early stopping.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hybrid.beir import Qrels, iter_corpus
from hybrid.encoders import Encoder
from hybrid.metrics import evaluate
from hybrid.recipes import passage_text
from hybrid.training.examples import TrainingDataError

MEASURE = "nDCG@10"
RUN_DEPTH = 100


@dataclass(frozen=True)
class DevSet:
    queries: dict[str, str]
    qrels: Qrels
    doc_ids: list[str]
    passages: list[str]
    instruction: str | None

    @classmethod
    def load(cls, dataset: Path, split: str, *, instruction: str | None = None, distractors: int | None = None,
             seed: int = 13) -> DevSet:
        """The split's queries and qrels and its corpus; errors before training if it cannot evaluate."""
        from hybrid.evaluation import load_split

        qrels_file = dataset / "qrels" / f"{split}.tsv"
        if not qrels_file.is_file():
            raise TrainingDataError(f"dev split '{split}' has no qrels ({qrels_file} not found); "
                                    "evaluation needs judged queries")
        queries, qrels = load_split(dataset, split)
        qrels = {q: {d: r for d, r in docs.items() if r > 0} for q, docs in qrels.items()}
        qrels = {q: docs for q, docs in qrels.items() if docs}
        if not qrels:
            raise TrainingDataError(f"dev split '{split}' of {dataset} has no relevant judgements")
        corpus = {d.id: passage_text(d.title, d.text) for d in iter_corpus(dataset)}
        judged = {d for docs in qrels.values() for d in docs}
        missing = judged - set(corpus)
        if missing:
            raise TrainingDataError(f"{len(missing)} judged dev documents are not in {dataset}/corpus.jsonl "
                                    f"(e.g. {sorted(missing)[:3]})")
        ids = sorted(corpus)
        if distractors is not None:
            others = [d for d in ids if d not in judged]
            ids = sorted(judged | set(random.Random(seed).sample(others, min(distractors, len(others)))))
        return cls({q: queries[q] for q in qrels}, qrels, ids, [corpus[d] for d in ids], instruction)


def dense_ndcg(encoder: Encoder, dev: DevSet, batch_size: int | None = None) -> float:
    """Dense nDCG@10 of ``encoder`` over the dev corpus (the module is put in eval mode for it)."""
    module = encoder.module
    was_training = module.training
    module.eval()
    try:
        qids = list(dev.queries)
        q = encoder.encode_queries([dev.queries[i] for i in qids], instruction=dev.instruction,
                                   batch_size=batch_size, show_progress=False)
        p = encoder.encode_passages(dev.passages, batch_size=batch_size, show_progress=False)
    finally:
        module.train(was_training)
    scores = torch.from_numpy(np.ascontiguousarray(encoder.score(q, p)))
    top = torch.topk(scores, min(RUN_DEPTH, scores.shape[1]), dim=1)
    run = {qid: {dev.doc_ids[j]: float(s) for s, j in zip(vals.tolist(), idx.tolist())}
           for qid, vals, idx in zip(qids, top.values, top.indices)}
    return evaluate(run, dev.qrels, [MEASURE])[MEASURE]
