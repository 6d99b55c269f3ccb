"""`--engine ray` builds, on a local Ray instance, the same versioned index as one process."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ingest.embed import Embedder
from ingest.errors import BadInput
from ingest.pipeline import ingest
from ingest.store import load_index
from tests.conftest import shared_corpus

ray = pytest.importorskip("ray", reason="Ray is in the dev extra; run make install")

from ingest.ray_engine import connect, ray_builder  # noqa: E402

CHUNK_TOKENS = 220


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray instance with two CPUs for the module, so two actors share the work."""
    connect(None, num_cpus=2)
    yield
    ray.shutdown()


def corpus(tiny_corpus: Path, tmp_path: Path) -> Path:
    """The tiny notes plus two real CNAI documents, when the shared corpus is here."""
    folder = Path(shutil.copytree(tiny_corpus, tmp_path / "notes"))
    cnai = shared_corpus() / "cnai"
    for name in ("charter.md", "glossary.md"):
        if (cnai / name).is_file():
            shutil.copy(cnai / name, folder / name)
    return folder


def both(folder: Path, tmp_path: Path, embedder: Embedder, **ray_kwargs: object):
    local = ingest([folder], tmp_path / "local", embedder, CHUNK_TOKENS, show_progress=False)
    builder = ray_builder(embedder.model_id, CHUNK_TOKENS, **ray_kwargs)  # type: ignore[arg-type]
    on_ray = ingest(
        [folder], tmp_path / "ray", embedder, CHUNK_TOKENS, show_progress=False, builder=builder
    )
    return local, on_ray, load_index(tmp_path / "local"), load_index(tmp_path / "ray")


def test_ray_build_equals_the_single_process_build(
    local_ray: None, tiny_corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    folder = corpus(tiny_corpus, tmp_path)
    local, on_ray, a, b = both(folder, tmp_path, embedder, actors=2)
    assert on_ray.added == local.added and on_ray.skipped == local.skipped
    assert on_ray.chunks == local.chunks == len(b.chunks) > 0
    assert [c.chunk_id for c in b.chunks] == [c.chunk_id for c in a.chunks]
    assert [c.text for c in b.chunks] == [c.text for c in a.chunks]
    assert b.spans == a.spans
    va = a.vectors.reconstruct_n(0, a.vectors.ntotal)
    vb = b.vectors.reconstruct_n(0, b.vectors.ntotal)
    assert va.shape == vb.shape
    np.testing.assert_allclose(vb, va, atol=1e-5, rtol=0)
    # Sentence vectors are stored as float16, so equal to its precision.
    np.testing.assert_allclose(
        b.sentence_vectors.astype(np.float32), a.sentence_vectors.astype(np.float32), atol=2e-3
    )
    assert b.manifest.documents == a.manifest.documents
    assert b.manifest.model == a.manifest.model and b.manifest.chunker == a.manifest.chunker


def test_ray_rebuild_embeds_only_the_changed_document(
    local_ray: None, tiny_corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(tiny_corpus, tmp_path / "notes"))
    builder = ray_builder(embedder.model_id, CHUNK_TOKENS, actors=1)
    first = ingest([folder], tmp_path / "ray", embedder, CHUNK_TOKENS, show_progress=False, builder=builder)
    changed = folder / "model-serving.md"
    changed.write_text(changed.read_text() + "\nA replica serves requests after it is ready.\n")
    second = ingest([folder], tmp_path / "ray", embedder, CHUNK_TOKENS, show_progress=False, builder=builder)
    assert second.changed == ["notes/model-serving.md"] and not second.added
    assert 0 < second.embedded < first.embedded
    assert load_index(tmp_path / "ray").folder.name == second.version != first.version


def test_an_unreachable_cluster_address_fails_fast_with_a_hint() -> None:
    with pytest.raises(BadInput, match="cannot reach the Ray cluster"):
        connect("ray://127.0.0.1:1")
    with pytest.raises(BadInput, match="is not auto, HOST:PORT"):
        connect("ray://no-port-here")
