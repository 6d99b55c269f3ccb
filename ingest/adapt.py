"""Domain adaptation: fine-tune the embedder on (heading or sentence, passage) pairs of an index.

The pairs come from the corpus itself, so no labelled data is needed: each heading and each
longer sentence should retrieve the passage it belongs to. Training uses in-batch negatives
(the MultipleNegativesRanking objective) in a plain torch loop, because sentence-transformers'
own ``fit`` needs the ``datasets`` package for nothing we use.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from ingest.embed import Embedder
from ingest.progress import Progress
from ingest.store import IndexVersion

MIN_SENTENCE_WORDS = 8


def training_pairs(
    version: IndexVersion, seed: int = 0, limit: int | None = None
) -> list[tuple[str, str]]:
    """Every (heading or sentence, passage) pair, shuffled; ``limit`` keeps a random sample."""
    pairs: list[tuple[str, str]] = []
    for row, chunk in enumerate(version.chunks):
        headings = [h for h in chunk.section.split(" > ") if h]
        if headings:
            pairs.append((headings[-1], chunk.embed_text))
            pairs.append((f"{chunk.title}: {headings[-1]}", chunk.embed_text))
        sentences, _ = version.sentences(row)
        pairs += [(s, chunk.embed_text) for s in sentences if len(s.split()) >= MIN_SENTENCE_WORDS]
    random.Random(seed).shuffle(pairs)
    return pairs[:limit]


def adapt(
    embedder: Embedder,
    version: IndexVersion,
    out: Path,
    epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 2e-5,
    show_progress: bool = True,
    max_pairs: int | None = None,
) -> Path:
    """Fine-tune ``embedder`` in place on the index's own pairs and save it to a new folder."""
    import torch
    import torch.nn.functional as F

    pairs = training_pairs(version, limit=max_pairs)
    model = embedder.model
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    steps = epochs * max(1, len(pairs) // batch_size)
    features = getattr(model, "preprocess", model.tokenize)  # renamed in sentence-transformers 6
    model.train()
    with Progress("Adapting", total=steps, unit="steps", enabled=show_progress) as bar:
        for _ in range(epochs):
            for start in range(0, len(pairs) - batch_size + 1, batch_size):
                batch = pairs[start : start + batch_size]
                queries = model(features([q for q, _ in batch]))["sentence_embedding"]
                passages = model(features([p for _, p in batch]))["sentence_embedding"]
                # Each query's own passage is the right answer; the batch's others are negatives.
                logits = F.normalize(queries, dim=-1) @ F.normalize(passages, dim=-1).T * 20
                loss = F.cross_entropy(logits, torch.arange(len(batch)))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                bar.advance(1)
    model.eval()
    folder = out / f"adapted-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
    model.save(str(folder))
    return folder
