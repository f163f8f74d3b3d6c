"""Encoder throughput on this machine: our encoder vs. plain SentenceTransformer.encode (MiniLM) in each
precision, and SmolLM2 with the BMRetriever recipe; dense-retrieval quality on SciFact dev. The table's
header names the machine; each row names the precision and batch size that actually ran.

Every variant runs in its own subprocess, one after another in the same run, so the peak RSS is
that variant's own. Throughput is timed over the first N SciFact passages (after a warm-up batch);
variants with ``quality`` then encode the rest of the corpus and the dev queries for nDCG@10.

    python bench/encode_throughput.py [--passages 2000] [--smollm2-passages 100] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe, header, write_report  # noqa: E402

# name -> (how it encodes, options, measure dev quality)
VARIANTS: dict[str, tuple[str, dict[str, object], bool]] = {
    "minilm plain SentenceTransformer.encode": ("plain-st", {}, True),
    "minilm hybrid fp32": ("hybrid", {"name": "minilm", "precision": "fp32"}, False),
    "minilm hybrid auto (default)": ("hybrid", {"name": "minilm", "precision": "auto"}, True),
    "minilm hybrid bf16 autocast": ("hybrid", {"name": "minilm", "precision": "bf16"}, False),
    "minilm hybrid int8 passages (onnxruntime)": ("hybrid", {"name": "minilm", "precision": "int8"}, True),
    "minilm hybrid torch int8 recipe (quantize)": ("hybrid", {"name": "minilm", "quantize": "int8"}, True),
    "smollm2-135m BMRetriever recipe fp32": ("hybrid", {"name": "smollm2-135m", "precision": "fp32"}, False),
    "smollm2-135m BMRetriever recipe auto (default)": ("hybrid", {"name": "smollm2-135m", "precision": "auto"}, False),
    # Run only where torch sees a CUDA GPU (`bash .ci/gpu`): bf16 weights by default, fp32 for the ratio.
    "minilm hybrid cuda auto (bf16)": ("hybrid", {"name": "minilm", "precision": "auto", "device": "cuda"}, True),
    "minilm hybrid cuda fp32": ("hybrid", {"name": "minilm", "precision": "fp32", "device": "cuda"}, False),
    "smollm2-135m BMRetriever recipe cuda auto (bf16)": ("hybrid", {"name": "smollm2-135m", "precision": "auto",
                                                                     "device": "cuda"}, True),
    # Hub-only shapes with random weights (speed only): BMRetriever-410M's GPT-NeoX and BMRetriever-2B's Gemma.
    "bmretriever-410m shape (random GPT-NeoX) cuda bf16": ("random", {"shape": "gpt-neox-410m", "device": "cuda"},
                                                           False),
    "bmretriever-2b shape (random Gemma) cuda bf16": ("random", {"shape": "gemma-2b", "device": "cuda"}, False),
}
# The published configurations of the two BMRetriever backbones. SmolLM2's tokenizer stands in for theirs
# (no hub here), so the embedding table has its 49,152 rows; every transformer layer has the real shape.
RANDOM_SHAPES: dict[str, tuple[str, dict[str, object]]] = {
    "gpt-neox-410m": ("GPTNeoX", {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
                                  "intermediate_size": 4096, "rotary_pct": 0.25, "max_position_embeddings": 2048}),
    "gemma-2b": ("Gemma", {"hidden_size": 2048, "num_hidden_layers": 18, "num_attention_heads": 8,
                           "num_key_value_heads": 1, "head_dim": 256, "intermediate_size": 16384,
                           "max_position_embeddings": 8192}),
}
# bf16 autocast without native bf16 is emulated and slow: measured on a few passages, to show why
# ``auto`` does not choose it there.
EMULATED_BF16_PASSAGES = 200


def device_of(variant: str) -> str:
    return str(VARIANTS[variant][1].get("device", "cpu"))


def random_decoder(shape: str, folder: Path, device: str) -> Path:
    """A randomly initialised decoder of ``shape`` in bf16, saved with SmolLM2's tokenizer."""
    import torch
    import transformers
    from transformers import AutoTokenizer

    from hybrid.encoders.gguf_cache import materialize_gguf
    from hybrid.recipes.presets import preset

    arch, shape_config = RANDOM_SHAPES[shape]
    smollm2 = preset("smollm2-135m")
    tokenizer = AutoTokenizer.from_pretrained(materialize_gguf(Path(smollm2.source), str(smollm2.gguf_file)))
    config = getattr(transformers, f"{arch}Config")(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                                                    eos_token_id=tokenizer.eos_token_id, **shape_config)
    torch.manual_seed(0)
    with torch.device(device):
        model = getattr(transformers, f"{arch}Model")(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _worker(variant: str, data: Path, n_passages: int, out: Path) -> None:
    import numpy as np

    from hybrid.beir import iter_corpus, load_qrels, load_queries
    from hybrid.encoders import load_encoder
    from hybrid.metrics import evaluate
    from hybrid.recipes import passage_text

    how, options, quality = VARIANTS[variant]
    docs = list(iter_corpus(data))
    texts = [passage_text(d.title, d.text) for d in docs]
    started = time.perf_counter()
    if how == "plain-st":
        from sentence_transformers import SentenceTransformer

        from hybrid.recipes.presets import preset

        model = SentenceTransformer(preset("minilm").source, device="cpu")

        def encode_passages(batch: list[str]) -> np.ndarray:
            return model.encode(batch, normalize_embeddings=True, convert_to_numpy=True)

        encode_queries = encode_passages
        runtime = "sentence-transformers defaults (torch float32, batch 32)"
    else:
        options = dict(options)
        device = str(options.pop("device", "cpu"))
        if how == "random":
            import tempfile

            folder = Path(tempfile.mkdtemp(prefix="random-decoder-"))
            options["name"] = str(random_decoder(str(options.pop("shape")), folder, device))
        encoder = load_encoder(str(options.pop("name")), device=device, **options)  # type: ignore[arg-type]
        encode_passages = encoder.encode_passages
        runtime = f"{encoder.runtime}, batch {encoder.batch_size}"

        def encode_queries(batch: list[str]) -> np.ndarray:
            return encoder.encode_queries(batch, instruction="scifact")

    load_s = time.perf_counter() - started
    if device_of(variant) == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()
    encode_passages(texts[:32])  # warm-up
    started = time.perf_counter()
    head = encode_passages(texts[:n_passages])
    seconds = time.perf_counter() - started
    result: dict[str, object] = {
        "variant": variant, "runtime": runtime, "passages": n_passages, "seconds": seconds,
        "passages_per_s": n_passages / seconds, "load_s": load_s,
    }
    if quality:
        rest = encode_passages(texts[n_passages:])
        matrix = np.concatenate([head, rest])
        qrels = load_qrels(data, "dev")
        queries = load_queries(data)
        qids = sorted(qrels)
        q = encode_queries([queries[i] for i in qids])
        scores = q @ matrix.T
        top = np.argsort(-scores, axis=1)[:, :100]
        run = {qid: {docs[j].id: float(scores[r, j]) for j in top[r]} for r, qid in enumerate(qids)}
        result["dev_ndcg@10"] = evaluate(run, qrels, ["nDCG@10"])["nDCG@10"]
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device_of(variant) == "cuda":
        import torch

        result["peak_gpu_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    out.write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--smollm2-passages", type=int, default=100,
                        help="passages timed for the decoders (SmolLM2, the random BMRetriever shapes)")
    parser.add_argument("--only", action="append", help="run only variants containing this text")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "encode_throughput.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.data, args.passages, args.worker_out)
        return

    import torch

    from hybrid.encoders.device import cpu_has_native_bf16

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    results = []
    for variant in VARIANTS:
        if args.only and not any(o in variant for o in args.only):
            continue
        if device_of(variant) == "cuda" and not torch.cuda.is_available():
            continue
        n = args.passages if variant.startswith("minilm") else args.smollm2_passages
        if "bf16 autocast" in variant and not cpu_has_native_bf16():
            n = min(n, EMULATED_BF16_PASSAGES)
        tmp = args.out.with_suffix(".part.json")
        cmd = [sys.executable, __file__, "--worker", variant, "--worker-out", str(tmp),
               "--data", str(args.data), "--passages", str(n)]
        print(f"running: {variant} ({n} passages)", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        results.append(json.loads(tmp.read_text()))
        tmp.unlink()

    baseline = next((r for r in results if "plain" in str(r["variant"])), None)
    machine = describe()
    print(f"\n{header(machine)}")
    print(f"{'variant':46} {'passages/s':>10} {'vs plain ST':>11} {'dev nDCG@10':>11} {'peak RSS MiB':>12}  runtime")
    for r in results:
        ratio = r["passages_per_s"] / baseline["passages_per_s"] if baseline and "minilm" in r["variant"] else None
        ndcg = r.get("dev_ndcg@10")
        r["ratio_vs_plain_st"] = ratio
        print(f"{r['variant']:46} {r['passages_per_s']:10.1f} {f'{ratio:.2f}x' if ratio else '-':>11} "
              f"{f'{ndcg:.4f}' if ndcg is not None else '-':>11} {r['peak_rss_mib']:12.0f}  {r['runtime']}")
    write_report(args.out, {"machine": machine, "results": results})


if __name__ == "__main__":
    main()
