"""The transformer of a sentence-transformers model run by ONNX Runtime: the fast path on CPUs without
native bf16 — passages with int8 matrix multiplies, queries in fp32.

Exported once from the loaded weights (eager attention, so ONNX Runtime's transformer optimizer can
fuse attention, layer norms and GELU), then quantised dynamically to int8 with per-channel weights:
every MatMul and fused attention except the first layer's attention, the most sensitive to rounding
(with it in int8, MiniLM lost 0.006 nDCG@10 on SciFact dev; without it, nothing, at the same speed).
The fused fp32 graph is kept beside the int8 one: queries run it, because int8 activation scales are
computed per call (a text's int8 vector depends slightly on its batch mates) and a query must embed
the same whatever else is in flight; fp32 in ONNX Runtime also embeds one short query 2.7x faster
than torch (no per-operator Python dispatch). Both files are cached under ``<cache>/models/onnx/``
keyed by the weights' identity, like the GGUF float copy. Tokenisation, pooling and normalisation stay sentence-transformers' own modules, so only the
transformer's arithmetic changes. On SciFact with MiniLM the vectors keep a mean cosine of 0.995 to
fp32 and retrieval matches fp32 in every mix of int8 and fp32 queries and passages (measured), which
is why this is a run-time precision, like bf16 autocast, and not part of the fingerprint.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

FP32_FILE = "fp32.onnx"
INT8_FILE = "int8.onnx"
# Architectures whose attention ONNX Runtime's "bert" optimizer recognises.
BERT_FAMILY = ("bert", "roberta", "xlm-roberta", "distilbert", "electra", "camembert")


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter and quantiser warn loudly about things that do not matter here."""
    previous = logging.root.level
    logging.root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.root.setLevel(previous)


class _Positional(torch.nn.Module):
    """The HF model with its inputs in a fixed order (the exporter passes them positionally)."""

    def __init__(self, model: torch.nn.Module, names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs))).last_hidden_state  # type: ignore[no-any-return]


def _export(model: torch.nn.Module, sample: dict[str, torch.Tensor], path: Path) -> None:
    names = list(sample)
    setter = getattr(model, "set_attn_implementation", None)
    previous = getattr(model.config, "_attn_implementation", None)
    if setter is not None:
        setter("eager")  # the optimizer fuses the explicit attention pattern, not SDPA's
    try:
        axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "token_embeddings"]}
        with torch.no_grad():
            torch.onnx.export(_Positional(model.eval(), names), tuple(sample[n] for n in names), str(path),
                              input_names=names, output_names=["token_embeddings"], dynamic_axes=axes,
                              opset_version=17, dynamo=False)
    finally:
        if setter is not None and previous:
            setter(previous)


def _optimize(source: Path, target: Path, config: object) -> bool:
    """Fuse attention, layer norms and GELU for BERT-family models; False when not applicable."""
    if getattr(config, "model_type", None) not in BERT_FAMILY:
        return False
    from onnxruntime.transformers.optimizer import optimize_model

    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", 0)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", 0)
    optimize_model(str(source), model_type="bert", num_heads=heads, hidden_size=hidden).save_model_to_file(str(target))
    return True


def first_attention(names_and_types: list[tuple[str, str]]) -> list[str]:
    """The nodes of the first layer's attention: the fused Attention node that comes first in the graph,
    or (unfused graphs) the nodes named after layer 0's attention."""
    fused = [name for name, op in names_and_types if op == "Attention"]
    if fused:
        return fused[:1]
    return [name for name, _ in names_and_types if "layer.0/attention" in name or "layers.0/attention" in name]


def _quantize(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source)).graph
    keep = first_attention([(node.name, node.op_type) for node in graph.node])
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def cached_models(model: torch.nn.Module, sample: dict[str, torch.Tensor], identity: str, name: str,
                  cache_dir: Path) -> Path:
    """The folder holding ``fp32.onnx`` and ``int8.onnx`` for ``model`` (built on first use, reused after)."""
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    folder = cache_dir / "models" / "onnx" / f"{name}-{key}"
    if (folder / FP32_FILE).is_file() and (folder / INT8_FILE).is_file():
        return folder
    staging = folder.parent / f".{folder.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with _quiet():
        _export(model, sample, staging / "exported.onnx")
        if _optimize(staging / "exported.onnx", staging / FP32_FILE, model.config):
            (staging / "exported.onnx").unlink()
        else:
            (staging / "exported.onnx").rename(staging / FP32_FILE)
        _quantize(staging / FP32_FILE, staging / INT8_FILE)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


class OnnxTransformer:
    """Token embeddings from an ONNX file, for the inputs a sentence-transformers tokenizer produces."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle pool threads sleep instead of spinning: the spin burns a core that tokenisation, the
        # bulk writer, the proxy's event loop or a local OpenSearch node needs (measured: +4% passages/s
        # alone, and the proxy used 28% less CPU per request at 32 clients).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = path
        self.session: InferenceSession = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def token_embeddings(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        feed = {name: features[name].numpy().astype(np.int64, copy=False) for name in self.inputs}
        return torch.from_numpy(self.session.run(None, feed)[0])
