"""The training log: one JSON line per Trainer log event, and the PNG curve drawn from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "training-curve.png"


class MetricsLog(TrainerCallback):
    """Appends ``{"step", "epoch", "loss" | "learning_rate" | "eval_ndcg@10" …}`` lines (resume appends)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        if not logs or not state.is_world_process_zero:
            return
        record = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4), **logs}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def read_metrics(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_curve(metrics_path: Path, png: Path, title: str) -> None:
    """Training loss and dev nDCG@10 against the step (later lines win after a resume)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    loss: dict[int, float] = {}
    ndcg: dict[int, float] = {}
    for record in read_metrics(metrics_path):
        if "loss" in record:
            loss[int(record["step"])] = float(record["loss"])
        if "eval_ndcg@10" in record:
            ndcg[int(record["step"])] = float(record["eval_ndcg@10"])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(sorted(loss), [loss[s] for s in sorted(loss)], color="tab:blue", label="train loss")
    ax.set_xlabel("step")
    ax.set_ylabel("InfoNCE loss", color="tab:blue")
    if ndcg:
        dev = ax.twinx()
        dev.plot(sorted(ndcg), [ndcg[s] for s in sorted(ndcg)], "o-", color="tab:orange", label="dev nDCG@10")
        dev.set_ylabel("dev nDCG@10 (dense)", color="tab:orange")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
