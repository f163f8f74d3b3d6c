"""Data-parallel training through the Trainer's own launch: `torchrun --nproc_per_node 2 -m hybrid train`
on the CPU (gloo) runs two processes that train one model, and only the first writes the output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hybrid.encoders import load_encoder
from hybrid.training.examples import example_record
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox
from tests.unit.training.test_train import word_examples


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
                    reason="torchrun is not installed beside this Python")
def test_torchrun_two_processes_train_one_model(tmp_path: Path) -> None:
    tiny = save_tiny_gpt_neox(tmp_path / "tiny")
    data = tmp_path / "train.jsonl"
    with data.open("w") as lines:
        for e in word_examples(32):
            lines.write(json.dumps(example_record(e.query_id, e.query, None, [{"id": p.id, "text": p.text} for p in e.positives],
                                                  [{"id": p.id, "text": p.text} for p in e.negatives])) + "\n")
    out = tmp_path / "run"
    torchrun = str(Path(sys.executable).parent / "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "hybrid", "train", str(data),
                          "--model", str(tiny), "--out", str(out), "--max-steps", "3", "--batch-size", "4",
                          "--lr", "3e-3", "--precision", "fp32", "--device", "cpu", "--full"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "training.json").read_text())
    assert report["processes"] == 2 and report["steps"] == 3
    trained = load_encoder(str(out), device="cpu", precision="fp32")
    base = load_encoder(str(tiny), device="cpu", precision="fp32")
    texts = ["protein cell gene", "mice trial dose"]
    assert not np.allclose(trained.encode_passages(texts), base.encode_passages(texts), atol=1e-4)  # it learned
