"""``hybrid synth`` and ``hybrid pairs``: training data for passages that have no judged queries."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hybrid.cli.common import add_connection_flags, backend_from, positive_int, settings_from
from hybrid.cli.mine_cmd import add_negative_flags, mining_config
from hybrid.progress import on_terminal, track


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("synth", help="synthetic training queries from a causal LM, filtered by BM25 (JSONL)",
                       description="An LM writes a question per indexed passage; a pair is kept only if BM25 ranks "
                                   "the passage in its top k for that question. Same JSONL as `hybrid mine`.")
    s.add_argument("--index", help="index whose passages get queries (default: settings 'index')")
    s.add_argument("--out", type=Path, required=True, help="output JSONL")
    s.add_argument("--generator", default="smollm2-135m",
                   help="causal LM: 'smollm2-135m' (packaged GGUF), a .gguf file, a folder or a hub name "
                        "such as stanford-crfm/BioMedLM (default smollm2-135m)")
    s.add_argument("--limit", type=positive_int, help="passages to use (default: all)")
    s.add_argument("--keep-top", type=positive_int, default=10, help="keep a pair if BM25 ranks its passage this high (default 10)")
    s.add_argument("--max-copied-words", type=int, default=8,
                   help="drop a query that repeats this many consecutive words of its passage (0: keep; default 8)")
    s.add_argument("--max-new-tokens", type=int, default=48)
    add_negative_flags(s)
    s.add_argument("--device", help="cuda, cpu … (default: CUDA when present)")
    add_connection_flags(s)
    s.set_defaults(handler=run_synth)

    p = sub.add_parser("pairs", help="unsupervised title→abstract and sentence→rest pairs (JSONL)",
                       description="Pairs from the documents of an index for BMRetriever's first, unsupervised stage.")
    p.add_argument("--index", help="index to read (default: settings 'index')")
    p.add_argument("--out", type=Path, required=True, help="output JSONL")
    p.add_argument("--no-titles", dest="titles", action="store_false", help="skip title → abstract pairs")
    p.add_argument("--no-sentences", dest="sentences", action="store_false", help="skip sentence → rest pairs")
    p.add_argument("--seed", type=int, default=13)
    add_connection_flags(p)
    p.set_defaults(handler=run_pairs)


def run_synth(args: argparse.Namespace) -> int:
    from hybrid.training.examples import write_examples
    from hybrid.training.synth import QueryGenerator, SynthConfig, SynthReport, synthesize

    settings = settings_from(args, index=args.index, device=args.device)
    report = SynthReport()
    config = SynthConfig(args.keep_top, args.limit, args.max_copied_words or None, mining_config(args))
    backend = backend_from(settings)
    try:
        search = backend.search(settings.index)
        search.index_meta()  # a missing index fails before the generator loads
        generator = QueryGenerator(args.generator, device=settings.device, max_new_tokens=args.max_new_tokens)
        print(f"writing queries with {args.generator} for passages of '{settings.index}' on {backend.description}",
              file=sys.stderr)
        total = min(search.count(), args.limit or search.count())
        passages = track(search.documents(), total, "synth", "passage", enabled=on_terminal())
        written = write_examples(args.out, synthesize(search, passages, generator, config, report=report))
    finally:
        backend.close()
    print(f"wrote {written} examples to {args.out} from {report.passages} passages; dropped {report.too_short} "
          f"too-short generations, {report.copied} copied from the passage and {report.not_in_top} whose passage BM25 ranked below {args.keep_top}")
    for query in report.examples_of_dropped[:3]:
        print(f"  dropped e.g.: {query!r}", file=sys.stderr)
    return 0


def run_pairs(args: argparse.Namespace) -> int:
    from hybrid.training.examples import write_examples
    from hybrid.training.pairs import PairsReport, document_pairs

    settings = settings_from(args, index=args.index)
    report = PairsReport()
    backend = backend_from(settings)
    try:
        search = backend.search(settings.index)
        written = write_examples(args.out, document_pairs(search.documents(), titles=args.titles,
                                                          sentences=args.sentences, seed=args.seed, report=report))
    finally:
        backend.close()
    skipped = ", ".join(f"{n} {reason}" for reason, n in report.skipped.items()) or "none"
    print(f"wrote {written} pairs to {args.out} from {report.documents} documents "
          f"({report.title_pairs} title, {report.sentence_pairs} sentence); skipped: {skipped}")
    return 0
