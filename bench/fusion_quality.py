"""The retrieval-quality ladder on a BEIR dev split, one change per row, per encoder:

    baseline (older BM25 layout, RRF) -> + current BM25 layout -> + fusion tuned on the train split
    (what `hybrid tune` picks) -> + adaptive fusion (the default, no labels)

with bm25 / dense / hybrid nDCG@10 and Recall@100, and the same ladder's fusion rows on variants of the
split whose queries share fewer words with their documents: misspelt (a share of their words each get
one typo, reproducibly), and stripped (every word whose analysed form occurs in one of the query's
judged documents removed: a lexical gap that BM25 cannot bridge and the encoder may).

Indices are embedded (the backends agree on these runs; `bench/search_bench.py` shows it), built per
encoder and layout in a temporary folder, calibrated after loading as `hybrid ingest` does. Only the
train split's qrels choose the tuned fusion; dev's are only reported.

    python bench/fusion_quality.py --encoder minilm --encoder fine-tuned=runs/minilm-scifact
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.machine import describe, header, write_report  # noqa: E402

MEASURES = ("nDCG@10", "R@100")
_WORD = re.compile(r"[A-Za-z]{4,}")  # the words misspell() may touch (see --min-length)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def misspell(query: str, rate: float, rng: random.Random, min_length: int = 4) -> str:
    """Each word of ``min_length``+ letters gets, with probability ``rate``, one typo inside it (first and
    last letter kept): two neighbours swapped, a letter dropped, doubled or replaced."""

    def typo(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) < min_length or rng.random() >= rate:
            return word
        i = rng.randrange(1, len(word) - 2)
        kind = rng.randrange(4)
        if kind == 0:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if kind == 1:
            return word[:i] + word[i + 1 :]
        if kind == 2:
            return word[:i] + word[i] + word[i:]
        return word[:i] + rng.choice(_LETTERS.replace(word[i].lower(), "")) + word[i + 1 :]

    return _WORD.sub(typo, query)


def misspelt(queries: dict[str, str], rate: float, seed: int, min_length: int = 4) -> dict[str, str]:
    return {qid: misspell(text, rate, random.Random(f"{seed}:{qid}"), min_length) for qid, text in queries.items()}


def stripped(queries: dict[str, str], qrels, corpus: dict[str, str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each query without the words whose analysed form occurs in one of its judged documents (stop words
    stay); a query left with no word at all keeps its first, so none is empty."""
    from hybrid.analysis import analyze

    out = {}
    for qid, text in queries.items():
        vocabulary = {t for doc in qrels[qid] if doc in corpus for t in analyze(corpus[doc])}
        words = text.split()
        kept = [w for w in words if not (set(analyze(w)) & vocabulary)]
        out[qid] = " ".join(kept) or words[0]
    return out


def load_corpus(data: Path) -> dict[str, str]:
    from hybrid.beir import iter_corpus

    return {doc.id: f"{doc.title} {doc.text}" for doc in iter_corpus(data)}


@contextlib.contextmanager
def older_layout() -> Iterator[None]:
    """Ingest builds indices with the BM25 layout of the release before the layout was recorded."""
    import hybrid.ingest.pipeline as pipeline
    from hybrid.index_meta import IndexMeta
    from hybrid.lexical import FIELDS_LAYOUT

    original = pipeline.IndexMeta
    pipeline.IndexMeta = functools.partial(IndexMeta, lexical=FIELDS_LAYOUT)  # type: ignore[assignment, misc]
    try:
        yield
    finally:
        pipeline.IndexMeta = original  # type: ignore[misc]


def build_index(folder: Path, data: Path, index: str, encoder, *, old_layout: bool,  # type: ignore[no-untyped-def]
                passages: bool = True):
    """An embedded index of the corpus, calibrated; its Searcher."""
    from hybrid.backends.base import IndexOptions
    from hybrid.backends.embedded.backend import EmbeddedBackend
    from hybrid.backends.embedded.search import EmbeddedSearch
    from hybrid.backends.embedded.target import EmbeddedTarget
    from hybrid.ingest.pipeline import IngestOptions, run_ingest
    from hybrid.ingest.runner import recalibrate
    from hybrid.ingest.sources import open_source
    from hybrid.retrieval import Searcher

    with older_layout() if old_layout else contextlib.nullcontext():
        target = EmbeddedTarget(folder)
        run_ingest(open_source(data, "beir"), index=index, encoder=encoder, target=target, rejects_path=Path(os.devnull),
                   metadata_fields={}, index_options=IndexOptions(passages=passages), options=IngestOptions())
        target.close()
    backend = EmbeddedBackend(folder)
    recalibrate(backend, index, encoder, changed=True)
    backend.close()
    return Searcher(EmbeddedSearch(folder, index), encoder)


def labelled_encoders(specs: list[str], report: dict[str, object]) -> Iterator[tuple[str, str, object]]:
    """``LABEL=MODEL`` (or a preset name) specs as (label, model, encoder on the CPU); the machine is
    described, recorded in ``report`` and printed with the first encoder's runtime precision."""
    from hybrid.encoders import load_encoder

    for spec in specs:
        label, _, model = spec.partition("=")
        model = model or label
        encoder = load_encoder(model, device="cpu")
        if "machine" not in report:
            report["machine"] = describe(encoder.runtime)
            print(header(report["machine"]))  # type: ignore[arg-type]
        yield label, model, encoder


def measure(lists, qrels, fusion, mode: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from hybrid.evaluation import mode_run
    from hybrid.metrics import evaluate

    return evaluate(mode_run(lists, mode, fusion), qrels, list(MEASURES))  # type: ignore[arg-type]


def tuned_on(lists, qrels):  # type: ignore[no-untyped-def]
    """The best fixed fusion of `hybrid tune`'s grid on these lists (adaptive left out: it is the next row)."""
    from hybrid.evaluation import sweep

    return next(cfg for cfg, _ in sweep(lists, qrels) if cfg.method != "adaptive")


def ladder(searchers, splits, instruction):  # type: ignore[no-untyped-def]
    """Rows of (step, fusion description, {mode: metrics}) for one encoder; ``splits`` holds the dev and
    train queries and qrels of one query set."""
    from hybrid.evaluation import collect_lists
    from hybrid.retrieval import FusionConfig

    (dev_q, dev_qrels), (train_q, train_qrels) = splits["dev"], splits["train"]
    lists = {layout: collect_lists(s, dev_q, instruction=instruction, windows=FusionConfig()) for layout, s in searchers.items()}
    rrf = FusionConfig("rrf")
    tuned = tuned_on(collect_lists(searchers["body"], train_q, instruction=instruction, windows=FusionConfig()), train_qrels)
    rows = []
    if "fields" in lists:
        rows.append(("baseline: older BM25 layout, RRF", rrf, lists["fields"]))
    rows += [("+ BM25 layout body, RRF", rrf, lists["body"]),
             ("+ fusion tuned on train", tuned, lists["body"]),
             ("+ adaptive fusion (default)", FusionConfig(), lists["body"])]
    return [{"step": step, "fusion": cfg.to_record(),
             "metrics": {mode: measure(side_lists, dev_qrels, cfg, mode) for mode in ("bm25", "dense", "hybrid")}}
            for step, cfg, side_lists in rows]


def print_rows(title: str, rows: list[dict]) -> None:  # type: ignore[type-arg]
    print(f"\n{title}")
    print(f"{'step':36} {'fusion':28} " + " ".join(f"{m + ' ' + k:>14}" for m in ("bm25", "dense", "hybrid") for k in MEASURES))
    for row in rows:
        f = row["fusion"]
        fusion = f"{f['method']} k{f['rank_constant']:g} w{f['bm25_window']} {f['bm25_weight']:g}/{f['dense_weight']:g}"
        values = " ".join(f"{row['metrics'][m][k]:14.4f}" for m in ("bm25", "dense", "hybrid") for k in MEASURES)
        print(f"{row['step']:36} {fusion:28} {values}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--encoder", action="append", required=True,
                        help="LABEL=MODEL or a preset name (repeatable), e.g. fine-tuned=runs/minilm-scifact")
    parser.add_argument("--instruction", default=None, help="task instruction for decoder encoders (e.g. scifact)")
    parser.add_argument("--typo-rate", type=float, action="append",
                        help="share of 4+-letter query words misspelt; repeatable (default 0.5 and 1.0)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--work", type=Path, help="keep the indices here and reuse them (default: a temporary folder)")
    parser.add_argument("--min-length", type=int, default=4, help="misspell only words of at least this many letters")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fusion_quality.json")
    args = parser.parse_args()

    from hybrid.evaluation import load_split

    rates = args.typo_rate or [0.5, 1.0]
    clean = {split: load_split(args.data, split) for split in ("dev", "train")}
    corpus = load_corpus(args.data)
    variants = {f"misspelt (rate {rate}, words of {args.min_length}+ letters)":
                {split: (misspelt(q, rate, args.seed, args.min_length), qrels) for split, (q, qrels) in clean.items()}
                for rate in rates}
    variants["stripped of their documents' words"] = {split: (stripped(q, qrels, corpus), qrels)
                                                      for split, (q, qrels) in clean.items()}
    report: dict[str, object] = {"data": str(args.data), "seed": args.seed,
                                 "examples": {qid: [clean["dev"][0][qid], *(v["dev"][0][qid] for v in variants.values())]
                                              for qid in sorted(clean["dev"][0])[:5]},
                                 "encoders": {}}
    for label, model, encoder in labelled_encoders(args.encoder, report):
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.work / label if args.work else Path(tmp)
            print(f"{label}: ingesting {args.data.name} with both BM25 layouts", file=sys.stderr)
            searchers = {layout: build_index(folder / layout, args.data, "bench", encoder, old_layout=layout == "fields")
                         for layout in ("fields", "body")}
            results = {"model": model, "clean": ladder(searchers, clean, args.instruction),
                       "variants": {name: ladder({"body": searchers["body"]}, splits, args.instruction)
                                    for name, splits in variants.items()}}
            for searcher in searchers.values():
                searcher.backend.close()
        report["encoders"][label] = results  # type: ignore[index]
        print_rows(f"{label} ({model}): {args.data.name} dev", results["clean"])
        for name, rows in results["variants"].items():
            print_rows(f"{label} ({model}): {args.data.name} dev, queries {name}", rows)
    write_report(args.out, report)


if __name__ == "__main__":
    main()
