"""Train a cross-encoder reranker on an index's own pairs, with hard negatives from hybrid search.

No labelled data and no pretrained cross-encoder are needed. The positives are the (heading or
sentence, passage) pairs that ``ingest.adapt`` fine-tunes the embedder on; each pseudo-query's
negatives are the passages the service's own hybrid retriever ranks highest for it that are not
its passage nor that passage's neighbours, i.e. exactly the near misses a reranker must demote.
The model starts from the bundled MiniLM encoder with a new one-logit head and learns with a
listwise loss: softmax cross-entropy over [positive, negatives] in a plain torch loop, like
``ingest.adapt`` (sentence-transformers' own trainer needs the ``datasets`` package).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.adapt import training_pairs
from ingest.embed import resolve_model_path
from ingest.errors import BadInput
from ingest.progress import Progress
from ingest.settings import DEFAULT_MODEL
from ingest.store import IndexVersion

if TYPE_CHECKING:
    from service.retrieval import HybridRetriever

TRAINING_FILE = "training.json"  # how the model was trained, next to its weights


@dataclass(frozen=True)
class CrossEncoderTraining:
    """How ``cnai adapt --cross-encoder`` trains; none of these was tuned on a dev set."""

    negatives: int = 3  # hard negatives per pseudo-query: a group of 4 fits a shared 2-core CPU
    queries_per_step: int = 4  # groups per optimiser step (16 scored pairs)
    mining_depth: int = 10  # negatives are the best non-neighbour passages among this many
    learning_rate: float = 5e-5  # the encoder's: a common rate for fine-tuning MiniLM
    # The new one-logit head starts from random weights: at the encoder's rate it had not moved
    # the listwise loss off ln(4) after 56 steps (the ~20 minutes a shared CPU gives).
    head_learning_rate: float = 1e-3
    max_tokens: int = 256  # (query, passage) tokens: the bundled MiniLM's own limit
    seed: int = 0


@dataclass
class TrainingRecord:
    """What ``training.json`` holds: enough to tell two trained folders apart."""

    base_model: str
    index: str
    index_version: str
    index_created_at: str
    pairs_available: int
    pairs_used: int
    steps: int
    seconds: float
    stopped_by: str  # "steps" or "minutes"
    final_loss: float  # mean listwise loss of the last 20 steps
    config: dict[str, float | int]


def check_out_folder(out: Path) -> None:
    """Fail before minutes of training when the model could not be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    if not out.is_dir():
        raise BadInput(f"output {out} is not a folder")
    probe = out / f".write-test-{time.time_ns()}"
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise BadInput(f"output folder {out} is not writable: {exc.strerror or exc}") from None


def neighbourhood(version: IndexVersion, rows: set[int]) -> set[int]:
    """``rows`` and the chunks next to them in their documents (a split of the same passage)."""
    where = {(c.doc_path, c.ordinal) for c in (version.chunks[r] for r in rows)}
    return rows | {
        i
        for i, c in enumerate(version.chunks)
        if (c.doc_path, c.ordinal - 1) in where or (c.doc_path, c.ordinal + 1) in where
    }


def hard_negatives(
    retriever: HybridRetriever, query: str, positive: set[int], depth: int, n: int
) -> list[int]:
    """The ``n`` best-ranked rows for ``query`` outside the positive rows and their neighbours."""
    excluded = neighbourhood(retriever.version, positive)
    ranked = [r for hit in retriever.search(query, k=depth) for r in hit.rows]
    return [r for r in dict.fromkeys(ranked) if r not in excluded][:n]


def train_cross_encoder(
    version: IndexVersion,
    retriever: HybridRetriever,
    out: Path,
    steps: int = 2000,
    minutes: float = 20.0,
    config: CrossEncoderTraining = CrossEncoderTraining(),
    threads: int = 1,
    show_progress: bool = True,
    max_pairs: int | None = None,
    base_model: str = DEFAULT_MODEL,
) -> Path:
    """Train until ``steps`` or ``minutes`` runs out; save to a new folder under ``out``."""
    if steps < 1:
        raise BadInput(f"steps must be at least 1, got {steps}")
    if not minutes > 0:
        raise BadInput(f"minutes must be more than 0, got {minutes}")
    if threads < 1:
        raise BadInput(f"threads must be at least 1, got {threads}")
    if config.negatives < 1 or config.queries_per_step < 1 or config.mining_depth < 1:
        raise BadInput("negatives, queries per step and mining depth must each be at least 1")
    if len(version.chunks) < 2 + config.negatives:
        raise BadInput(
            f"the index at {version.folder.parent} has {len(version.chunks)} passages: too few to "
            f"draw {config.negatives} negatives beside each positive"
        )
    pairs = training_pairs(version, seed=config.seed, limit=max_pairs)
    if not pairs:
        raise BadInput(
            f"the index at {version.folder.parent} has no headings or sentences to train on"
        )
    check_out_folder(out)

    import torch
    import torch.nn.functional as F
    import transformers
    from sentence_transformers import CrossEncoder

    torch.set_num_threads(threads)
    torch.manual_seed(config.seed)  # the new head's initial weights and dropout
    rng = random.Random(config.seed)
    transformers.logging.set_verbosity_error()  # "classifier weights newly initialised": intended
    model = CrossEncoder(
        resolve_model_path(base_model), num_labels=1, device="cpu", local_files_only=True
    )
    model.max_length = config.max_tokens
    head = [p for n, p in model.named_parameters() if "classifier" in n]
    body = [p for n, p in model.named_parameters() if "classifier" not in n]
    optimiser = torch.optim.AdamW(
        [
            {"params": body, "lr": config.learning_rate},
            {"params": head, "lr": config.head_learning_rate},
        ]
    )
    rows_of: dict[str, set[int]] = {}
    for row, chunk in enumerate(version.chunks):
        rows_of.setdefault(chunk.embed_text, set()).add(row)
    texts = [c.embed_text for c in version.chunks]

    def group(query: str, passage: str) -> list[tuple[str, str]]:
        """[positive, negatives...]; random outsiders fill in when search finds too few."""
        positive = rows_of[passage]
        negatives = hard_negatives(
            retriever, query, positive, config.mining_depth, config.negatives
        )
        excluded = neighbourhood(version, positive) | set(negatives)
        others = [i for i in range(len(texts)) if i not in excluded] or [
            i for i in range(len(texts)) if i not in positive
        ]
        while len(negatives) < config.negatives:
            negatives.append(rng.choice(others))
        return [(query, passage)] + [(query, texts[i]) for i in negatives]

    started = time.monotonic()
    deadline = started + minutes * 60
    losses: list[float] = []
    done, cursor, stopped_by = 0, 0, "steps"
    model.train()
    with Progress(
        "Training cross-encoder", total=steps, unit="steps", enabled=show_progress
    ) as bar:
        while done < steps:
            if time.monotonic() >= deadline:
                stopped_by = "minutes"
                break
            batch = [pairs[(cursor + j) % len(pairs)] for j in range(config.queries_per_step)]
            cursor += config.queries_per_step
            inputs = [pair for query, passage in batch for pair in group(query, passage)]
            scores = model(model.preprocess(inputs))["scores"].view(len(batch), -1)
            # Listwise: each group's positive sits first and must outscore its own negatives.
            loss = F.cross_entropy(scores, torch.zeros(len(batch), dtype=torch.long))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            done += 1
            bar.advance(1)
    model.eval()
    folder = out / f"cross-encoder-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
    model.save(str(folder))
    tail = losses[-20:]
    record = TrainingRecord(
        base_model=base_model,
        index=str(version.folder.parent),
        index_version=version.folder.name,
        index_created_at=version.manifest.created_at,
        pairs_available=len(training_pairs(version)) if max_pairs else len(pairs),
        pairs_used=min(len(pairs), done * config.queries_per_step),
        steps=done,
        seconds=round(time.monotonic() - started, 1),
        stopped_by=stopped_by,
        final_loss=round(sum(tail) / len(tail), 4) if tail else float("nan"),
        config=asdict(config),
    )
    (folder / TRAINING_FILE).write_text(json.dumps(asdict(record), indent=2) + "\n")
    return folder
