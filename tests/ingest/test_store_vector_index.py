"""The vector index type is chosen by size, recorded in the manifest and memory-mapped."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from ingest.store import (
    FLAT,
    FLAT_MAX_VECTORS,
    HNSW,
    build_vector_index,
    choose_vector_index,
    load_index,
    read_vector_index,
)


def test_small_indexes_stay_exact_and_large_ones_use_hnsw() -> None:
    assert choose_vector_index(0) == FLAT
    assert choose_vector_index(FLAT_MAX_VECTORS) == FLAT
    assert choose_vector_index(FLAT_MAX_VECTORS + 1) == HNSW


def test_manifest_records_the_vector_index_type(tiny_index: Path) -> None:
    version = load_index(tiny_index)
    assert version.manifest.vector_index == FLAT
    assert version.vectors.ntotal == len(version.chunks)


@pytest.mark.parametrize("kind", [FLAT, HNSW])
def test_each_type_round_trips_through_a_mapped_file(kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    faiss.write_index(build_vector_index(vectors, kind), str(tmp_path / "v.faiss"))
    loaded = read_vector_index(tmp_path / "v.faiss")
    _, ids = loaded.search(vectors[:5], 1)
    assert ids[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert np.allclose(loaded.reconstruct(7), vectors[7], atol=1e-6)


def test_unknown_type_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="use flat or hnsw"):
        build_vector_index(np.zeros((1, 4), np.float32), "annoy")
