"""`--engine ray` builds, on a local Ray instance, the same versioned index as one process."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ingest.embed import Embedder
from ingest.errors import BadInput
from ingest.pipeline import Builder, ingest
from ingest.store import load_index
from tests.conftest import shared_corpus

ray = pytest.importorskip("ray", reason="Ray is in the dev extra; run make install")

from ingest.ray_engine import connect, ray_builder  # noqa: E402

CHUNK_TOKENS = 220


@pytest.fixture(scope="module")
def builds(
    tiny_corpus: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Path, Path, Builder]]:
    """The same folder (tiny notes plus two real CNAI documents, when the shared corpus is
    here) indexed in this process and on a local two-CPU Ray instance with two actors."""
    tmp = tmp_path_factory.mktemp("ray")
    folder = Path(shutil.copytree(tiny_corpus, tmp / "notes"))
    cnai = shared_corpus() / "cnai"
    for name in ("charter.md", "glossary.md"):
        if (cnai / name).is_file():
            shutil.copy(cnai / name, folder / name)
    connect(None, num_cpus=2)
    builder = ray_builder(embedder.model_id, CHUNK_TOKENS, actors=2)
    build(folder, tmp / "local", embedder)
    build(folder, tmp / "ray", embedder, builder)
    yield folder, tmp / "local", tmp / "ray", builder
    ray.shutdown()


def build(folder: Path, index: Path, embedder: Embedder, builder: Builder | None = None):
    return ingest([folder], index, embedder, CHUNK_TOKENS, show_progress=False, builder=builder)


def assert_same_index(local: Path, on_ray: Path) -> None:
    a, b = load_index(local), load_index(on_ray)
    assert len(b.chunks) == len(a.chunks) > 0
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


@pytest.mark.slow  # Ray start-up and one model load per actor: 30 s or more
def test_ray_build_equals_the_single_process_build(builds) -> None:  # type: ignore[no-untyped-def]
    folder, local, on_ray, _ = builds
    assert len(load_index(on_ray).manifest.documents) == len(list(folder.glob("*.md")))
    assert_same_index(local, on_ray)


@pytest.mark.slow
def test_ray_update_embeds_only_the_changed_document_and_still_matches(  # type: ignore[no-untyped-def]
    builds, embedder: Embedder
) -> None:
    folder, local, on_ray, builder = builds
    before = load_index(on_ray).folder.name
    changed = folder / "model-serving.md"
    changed.write_text(changed.read_text() + "\nA replica serves requests once it is ready.\n")
    want = build(folder, local, embedder)
    got = build(folder, on_ray, embedder, builder)
    assert got.changed == want.changed == ["notes/model-serving.md"] and not got.added
    assert 0 < got.embedded == want.embedded < got.chunks
    assert load_index(on_ray).folder.name == got.version != before
    assert_same_index(local, on_ray)


def test_an_unreachable_cluster_address_fails_fast_with_a_hint() -> None:
    with pytest.raises(BadInput, match="cannot reach the Ray cluster"):
        connect("ray://127.0.0.1:1")
    with pytest.raises(BadInput, match="is not auto, HOST:PORT"):
        connect("ray://no-port-here")
