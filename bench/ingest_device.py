"""`hybrid ingest` into the embedded backend on a given device: end-to-end documents/s (read, validate,
split into passages, embed, write, finish) against encode-only (the same passages through the encoder
alone), at the default batch and at other batch sizes. Each run is its own process, one after another.

    python bench/ingest_device.py --device cuda [--batch-sizes 64 512] [--data DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe, header  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _encode_only(data: Path, model: str, device: str, limit: int | None) -> dict[str, object]:
    from itertools import islice

    from hybrid.beir import iter_corpus
    from hybrid.encoders import load_encoder
    from hybrid.passages import PassageSplitter, encoder_layout, passage_texts

    encoder = load_encoder(model, device=device)
    docs = list(islice(iter_corpus(data), limit))
    layout = encoder_layout(encoder)
    spans = PassageSplitter(encoder, layout).split(docs) if layout else [((0, len(d.text)),) for d in docs]
    texts = passage_texts(docs, spans)
    encoder.encode_passages(texts[:64], show_progress=False)  # warm-up
    started = time.perf_counter()
    encoder.encode_passages(texts, show_progress=False)
    seconds = time.perf_counter() - started
    return {"mode": "encode only", "documents": len(docs), "passages": len(texts), "seconds": seconds,
            "docs_per_s": len(docs) / seconds, "runtime": f"{encoder.runtime}, batch {encoder.batch_size}"}


def _ingest(data: Path, model: str, device: str, batch: int | None, limit: int | None, work: Path) -> dict[str, object]:
    argv = [sys.executable, "-m", "hybrid", "ingest", str(data), "--index", f"bench-{batch or 'default'}", "--embedded",
            "--embedded-dir", str(work), "--model", model, "--device", device, "--json", "--quiet",
            "--rejects", str(work / "rejects.jsonl")]
    if batch:
        argv += ["--batch-size", str(batch)]
    if limit:
        argv += ["--limit", str(limit)]
    started = time.perf_counter()
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    summary = json.loads(done.stdout)
    return {"mode": f"hybrid ingest, batch {batch or 'default'}", "documents": summary["indexed"],
            "seconds": summary["seconds"], "docs_per_s": summary["indexed"] / summary["seconds"],
            "process_wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[64],
                        help="documents per batch to try besides the default")
    parser.add_argument("--limit", type=int, help="first N documents only")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest_device.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_encode_only(args.data, args.model, args.device, args.limit)))
        return

    rows = []
    worker = [sys.executable, __file__, "--worker", "--data", str(args.data), "--model", args.model,
              "--device", args.device] + (["--limit", str(args.limit)] if args.limit else [])
    done = subprocess.run(worker, check=True, capture_output=True, text=True)
    rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for batch in [None, *args.batch_sizes]:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(_ingest(args.data, args.model, args.device, batch, args.limit, Path(tmp)))
    encode = rows[0]
    machine = describe()
    print(f"\n{header(machine)}")
    print(f"{args.model} on {args.device}, embedded backend, {encode['documents']} documents "
          f"({encode['passages']} passages); encoder: {encode['runtime']}")
    print(f"{'mode':34}{'docs/s':>9}{'seconds':>9}{'vs encode only':>16}")
    for r in rows:
        r["ratio_vs_encode_only"] = float(r["docs_per_s"]) / float(encode["docs_per_s"])  # type: ignore[arg-type]
        print(f"{r['mode']:34}{r['docs_per_s']:9.1f}{r['seconds']:9.1f}{r['ratio_vs_encode_only']:15.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "model": args.model, "device": args.device,
                                    "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
