"""Adaptation to a corpus without labels (GPL, arXiv 2112.07577): queries an LM writes for the corpus's
passages (plus, optionally, title → abstract pairs), BM25-mined negatives, a cross-encoder's scores for
every (query, passage) as pseudo-labels, and the dense encoder trained to reproduce the cross-encoder's
margins (MarginMSE) — or, with ``loss="infonce"``, trained contrastively on the same examples with the
cross-encoder as a false-negative filter (a mined negative it scores within ``false_negative_margin`` of
the positive is dropped), which a weak teacher hurts less.

Each step writes its result into the work folder and is skipped when a later run finds it there, so a
stopped run resumes where it stopped (training from its last checkpoint)::

    work/queries.jsonl     LM-written queries (and pairs) with BM25 negatives  (`hybrid synth` format)
    work/teacher/          the cross-encoder trained on them, when none is given
    work/labelled.jsonl    the same examples, every passage with its teacher_score
    work/adapt.json        the configuration and each finished step's report
    output/                the adapted encoder (`hybrid train` output, checkpoints inside)
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid.progress import on_terminal, track
from hybrid.recipes import passage_text
from hybrid.training.errors import TrainingDataError
from hybrid.training.examples import TrainingExample, read_examples, write_examples
from hybrid.training.mining import MiningConfig, bm25_lists, candidate_negatives, negative_records
from hybrid.training.pairs import document_pairs
from hybrid.training.reranker import RerankerConfig
from hybrid.training.trainer import TrainConfig

if TYPE_CHECKING:
    from hybrid.retrieval.backend import SearchBackend
    from hybrid.retrieval.types import StoredDocument

STATE_FILE = "adapt.json"
QUERIES_FILE = "queries.jsonl"
LABELLED_FILE = "labelled.jsonl"
TEACHER_DIR = "teacher"


@dataclass(frozen=True)
class AdaptConfig:
    model: str = "minilm"  # the dense encoder to adapt
    generator: str = "smollm2-135m"  # the LM that writes queries
    passages: int | None = None  # documents that get a written query (None: every document)
    title_pairs: int = 0  # title → abstract pairs added as queries (documents drawn at random)
    reranker: str | None = None  # the teacher; None: train one on the written queries first
    reranker_base: str = "minilm"  # what that teacher starts from
    negatives: int = 4  # BM25-mined per query
    keep_top: int = 10  # a written query is kept when BM25 ranks its document this high
    max_new_tokens: int = 48
    seed: int = 13
    train: TrainConfig = field(default_factory=lambda: TrainConfig(loss="margin-mse", epochs=1.0,
                                                                   learning_rate=2e-5, patience=None))
    teacher: RerankerConfig = field(default_factory=lambda: RerankerConfig(group_size=4))
    false_negative_margin: float = 1.0  # InfoNCE only: teacher logits between a kept negative and the positive

    def __post_init__(self) -> None:
        if (self.passages is not None and self.passages < 0) or self.title_pairs < 0 or self.negatives < 1:
            raise ValueError("passages and title_pairs must be >= 0 and negatives >= 1")
        if self.passages == 0 and self.title_pairs == 0:
            raise ValueError("nothing to learn from: no written queries (passages 0) and no title pairs")

    def record(self) -> dict[str, object]:
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))  # type: ignore[no-any-return]


@dataclass
class AdaptReport:
    output: Path
    steps: dict[str, dict[str, object]] = field(default_factory=dict)


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


# The settings each step's output depends on, besides those of the steps before it.
STEP_SETTINGS: dict[str, tuple[str, ...]] = {
    "queries": ("index", "generator", "passages", "title_pairs", "negatives", "keep_top", "max_new_tokens", "seed"),
    "teacher": ("reranker", "reranker_base", "teacher"),
    "labels": ("reranker",),
    "encoder": ("model", "train", "false_negative_margin"),
}


class AdaptWork:
    """The work folder's ``adapt.json``: for each finished step its report and the settings it was made
    with. A step is reused only while those settings (its own and its predecessors') are unchanged, so
    changing, say, the learning rate retrains the encoder from the same labels."""

    def __init__(self, folder: Path, config: AdaptConfig, index: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / STATE_FILE
        record = {"index": index, **config.record()}
        self.settings: dict[str, dict[str, object]] = {}
        keys: list[str] = []
        for step, own in STEP_SETTINGS.items():
            keys += own
            self.settings[step] = {k: record[k] for k in keys}
        self.state = json.loads(self.path.read_text()) if self.path.is_file() else {"steps": {}, "started": {}}

    def done(self, step: str) -> dict[str, object] | None:
        """The step's report if it finished with the current settings."""
        entry = self.state["steps"].get(step)
        return entry["report"] if entry and entry["settings"] == self.settings[step] else None  # type: ignore[no-any-return]

    def resumable(self, step: str) -> bool:
        """Whether a started, unfinished run of the step used the current settings (training resumes it)."""
        return self.state["started"].get(step) == self.settings[step]

    def start(self, step: str) -> None:
        self.state["started"][step] = self.settings[step]
        self._save()

    def finish(self, step: str, report: dict[str, object]) -> None:
        self.state["steps"][step] = {"settings": self.settings[step], "report": report}
        self.state["started"].pop(step, None)
        self._save()

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2) + "\n")
        tmp.replace(self.path)


def sampled_documents(search: SearchBackend, count: int | None, seed: int) -> list[tuple[str, StoredDocument]]:
    """``count`` documents drawn reproducibly (reservoir sampling over one pass), or all of them."""
    documents = search.documents()
    if count is None:
        return list(documents)
    rng = random.Random(seed)
    sample: list[tuple[str, StoredDocument]] = []
    for seen, item in enumerate(documents):
        if len(sample) < count:
            sample.append(item)
        elif (j := rng.randrange(seen + 1)) < count:
            sample[j] = item
    return sorted(sample, key=lambda item: item[0])


def with_negatives(backend: SearchBackend, records: list[dict[str, object]], mining: MiningConfig
                   ) -> Iterator[dict[str, object]]:
    """The records with BM25-mined negatives (their own positive excluded), in batches of one round trip."""
    for start in range(0, len(records), 64):
        batch = records[start : start + 64]
        ranked_lists = bm25_lists(backend, [str(r["query"]) for r in batch], mining.depth)
        stored = backend.fetch(sorted({d for ranked in ranked_lists for d, _ in ranked}))
        for record, ranked in zip(batch, ranked_lists):
            own = {str(p["id"]) for p in record["positives"]}  # type: ignore[attr-defined]
            candidates = candidate_negatives(ranked, own, mining, stored)
            yield {**record, "negatives": negative_records(candidates, stored, mining, str(record["query_id"]))}


def write_queries(search: SearchBackend, config: AdaptConfig, path: Path, *, device: str | None,
                  quiet: bool) -> dict[str, object]:
    """LM-written queries for sampled documents, kept when BM25 finds their document (`hybrid synth`), plus
    title → abstract pairs for other sampled documents; all with BM25-mined negatives."""
    from hybrid.training.synth import QueryGenerator, SynthConfig, SynthReport, synthesize

    mining = MiningConfig(negatives=config.negatives, seed=config.seed)
    records: list[dict[str, object]] = []
    synth = SynthReport()
    if config.passages != 0:
        documents = sampled_documents(search, config.passages, config.seed)
        _say(f"writing queries for {len(documents)} documents with {config.generator}", quiet)
        generator = QueryGenerator(config.generator, device=device, max_new_tokens=config.max_new_tokens)
        shown = track(documents, len(documents), "queries", "doc", enabled=not quiet and on_terminal())
        records += synthesize(search, shown, generator, SynthConfig(keep_top=config.keep_top, mining=mining),
                              report=synth)
    titles = 0
    if config.title_pairs:
        documents = sampled_documents(search, config.title_pairs, config.seed + 1)
        pairs = list(document_pairs(iter(documents), titles=True, sentences=False, seed=config.seed))
        titles = len(pairs)
        records += with_negatives(search, pairs, mining)
    records = [r for r in records if r["negatives"]]
    part = path.with_suffix(".part")
    written = write_examples(part, iter(records))
    part.replace(path)
    return {"examples": written, "written_for": synth.passages, "kept": synth.kept, "too_short": synth.too_short,
            "copied": synth.copied, "not_in_bm25_top": synth.not_in_top, "title_pairs": titles}


def label(examples_path: Path, teacher: str, path: Path, *, device: str | None, quiet: bool) -> dict[str, object]:
    """Every positive and negative of every example scored by the teacher cross-encoder."""
    from hybrid.rerank.cross_encoder import load_reranker

    reranker = load_reranker(teacher, device=device)
    records = [json.loads(line) for line in examples_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    margins = []
    for n, record in enumerate(records, start=1):
        passages = record["positives"] + record["negatives"]
        scores = reranker.score(record["query"], [passage_text(p.get("title") or "", p["text"]) for p in passages])
        for passage, score in zip(passages, scores):
            passage["teacher_score"] = round(float(score), 4)
        margins += [record["positives"][0]["teacher_score"] - neg["teacher_score"] for neg in record["negatives"]]
        if n % 200 == 0:
            _say(f"  scored {n}/{len(records)} queries", quiet)
    part = path.with_suffix(".part")
    write_examples(part, iter(records))
    part.replace(path)
    below = sum(m <= 0 for m in margins)
    return {"examples": len(records), "pairs_scored": sum(len(r["positives"]) + len(r["negatives"]) for r in records),
            "mean_margin": round(sum(margins) / max(len(margins), 1), 4),
            "negatives_scored_at_or_above_their_positive": below}


def trusted_negatives(examples: list[TrainingExample], margin: float) -> tuple[list[TrainingExample], int, int]:
    """The examples without the negatives their teacher scores within ``margin`` of the best positive
    (passages the query likely matches, though nobody judged them); an example left with no negative is
    dropped whole: the teacher finds nothing its positive answers better than BM25's neighbours do, so
    the written query is likely too vague to teach from. Returns the examples kept, the negatives
    dropped and the examples dropped."""
    out, negatives, vague = [], 0, 0
    for ex in examples:
        best = max(p.teacher_score for p in ex.positives if p.teacher_score is not None)
        kept = tuple(n for n in ex.negatives if n.teacher_score is not None and n.teacher_score < best - margin)
        negatives += len(ex.negatives) - len(kept)
        if kept or not ex.negatives:
            out.append(dataclasses.replace(ex, negatives=kept))
        else:
            vague += 1
    return out, negatives, vague


def train_encoder(config: AdaptConfig, labelled: Path, output: Path, *, device: str | None, resume: bool,
                  quiet: bool) -> dict[str, object]:
    """The dense encoder trained on the labelled examples: margins distilled, or InfoNCE on trusted negatives."""
    from hybrid.training.trainer import train

    examples = read_examples([labelled])
    dropped: dict[str, object] = {}
    if config.train.loss == "infonce":
        examples, negatives, vague = trusted_negatives(examples, config.false_negative_margin)
        dropped = {"negatives_dropped": negatives, "examples_dropped": vague}
        if not examples:
            raise TrainingDataError(f"the teacher scores every mined negative within {config.false_negative_margin} "
                                    "of its positive: no example is left to learn from (lower the false-negative "
                                    "margin, or use margin-mse)")
        _say(f"  {negatives} negatives scored within {config.false_negative_margin} of their positive dropped, "
             f"and {vague} examples left without one", quiet)
    report = train(config.model, examples, output, config.train, device=device, resume=resume,
                   overwrite=not resume, progress=not quiet).summary()
    return {**report, "loss": config.train.loss, **dropped}


def adapt(search: SearchBackend, index: str, output: Path, config: AdaptConfig, *, work: Path,
          device: str | None = None, quiet: bool = False) -> AdaptReport:
    """Run (or resume) every step; returns each step's report. The adapted encoder is written to ``output``."""
    from hybrid.training.reranker import train_reranker

    state = AdaptWork(work, config, index)
    report = AdaptReport(output)
    queries, labelled, teacher_dir = work / QUERIES_FILE, work / LABELLED_FILE, work / TEACHER_DIR

    def step(name: str, run: object) -> None:
        done = state.done(name)
        if done is None:
            _say(f"[adapt] {name} …", quiet)
            started = time.perf_counter()
            state.start(name)
            done = {**run(), "seconds": round(time.perf_counter() - started, 1)}  # type: ignore[operator]
            state.finish(name, done)
            _say(f"[adapt] {name}: {json.dumps(done)}", quiet)
        else:
            _say(f"[adapt] {name}: done in an earlier run, skipped", quiet)
        report.steps[name] = done

    step("queries", lambda: write_queries(search, config, queries, device=device, quiet=quiet))
    teacher = config.reranker
    if teacher is None:
        teacher = str(teacher_dir)
        step("teacher", lambda: train_reranker(config.reranker_base, read_examples([queries]), teacher_dir,
                                               config.teacher, device=device, overwrite=True,
                                               progress=not quiet).summary())
    step("labels", lambda: label(queries, str(teacher), labelled, device=device, quiet=quiet))
    resume = state.resumable("encoder")  # else a run with other settings (or none) is replaced
    step("encoder", lambda: train_encoder(config, labelled, output, device=device, resume=resume, quiet=quiet))
    return report
