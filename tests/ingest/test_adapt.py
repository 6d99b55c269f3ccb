"""Domain adaptation on an index's own pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.adapt import adapt, training_pairs
from ingest.embed import Embedder
from ingest.store import load_index


def test_pairs_join_headings_and_sentences_to_their_passage(tiny_index: Path) -> None:
    version = load_index(tiny_index)
    pairs = training_pairs(version)
    passages = {c.embed_text for c in version.chunks}
    assert all(p in passages for _, p in pairs)
    for chunk in version.chunks:
        if chunk.section:
            assert (chunk.section.split(" > ")[-1], chunk.embed_text) in pairs
    assert any(len(q.split()) >= 8 for q, _ in pairs)  # sentences, not only headings
    sample = training_pairs(version, limit=3)
    assert len(sample) == 3 and set(sample) <= set(pairs)


def test_adapted_model_is_saved_loads_offline_and_moves_the_embeddings(
    tiny_index: Path, tmp_path: Path
) -> None:
    version = load_index(tiny_index)
    embedder = Embedder(version.manifest.model, threads=1)  # a private copy: training changes it
    before = embedder.embed_query("sharing a GPU")
    folder = adapt(embedder, version, tmp_path, batch_size=8, show_progress=False)
    reloaded = Embedder(str(folder), threads=1)
    assert reloaded.dimension == embedder.dimension
    after = reloaded.embed_query("sharing a GPU")
    assert not np.allclose(before, after, atol=1e-4)
