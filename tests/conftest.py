"""Shared fixtures: one real embedder and a tiny Markdown corpus and index, built per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ingest.embed import Embedder
from ingest.pipeline import ingest
from service.engine import Engine
from service.settings import ServiceSettings

TINY_NOTES: dict[str, str] = {
    "gpu-sharing.md": """\
---
title: Sharing GPUs between workloads
kind: doc
sources:
  - https://example.org/notes/gpu-sharing
---

## Why share a GPU

A single inference service rarely keeps a whole accelerator busy. Sharing one GPU between
several pods raises utilisation and lowers the cost of each served request.

## Multi-Instance GPU

Multi-Instance GPU (MIG) cuts a supported card into up to seven hardware partitions. Each
partition has its own memory and compute slices, so one tenant cannot slow down another.
A pod asks for one partition by its resource name:

```yaml
resources:
  limits:
    nvidia.com/mig-1g.5gb: 1
```

## Multi-Process Service

The Multi-Process Service (MPS) lets kernels from several processes run on the GPU at the same
time. It shares memory without hard isolation, so a faulty process can affect its neighbours.

## Time-slicing

Time-slicing gives each container the whole GPU in turns. It needs no special hardware, but
workloads share memory and wait for each other, so latency becomes less predictable.

| Method | Isolation | Needs special hardware |
| --- | --- | --- |
| MIG | hardware partitions | yes |
| MPS | none for memory | no |
| Time-slicing | none | no |
""",
    "model-serving.md": """\
---
title: Serving models on Kubernetes
kind: doc
sources:
  - https://example.org/notes/model-serving
---

## Inference servers

An inference server loads a trained model once and answers prediction requests over HTTP or
gRPC. It batches concurrent requests so the accelerator stays busy.

## Autoscaling

Request-based autoscaling adds replicas when the queue of pending requests grows and removes
them when traffic falls. Scaling to zero saves money, but the first request then waits for a
cold start while the model loads.

```yaml
# A replica count bound for the predictor
minReplicas: 0
maxReplicas: 4
```

## Rollouts

Canary rollouts send a small share of traffic to a new model version before promoting it.
""",
    "vector-databases.md": """\
---
title: Vector databases for retrieval-augmented generation
kind: doc
sources:
  - https://example.org/notes/vector-databases
---

## Embeddings

An embedding model turns a passage of text into a vector of numbers. Passages with similar
meaning end up close together in that vector space.

## Retrieval-augmented generation

Retrieval-augmented generation (RAG) looks up the passages nearest to a question in a vector
database and gives them to a language model as context. The model then answers from those
passages instead of from memory alone, which reduces made-up answers.

## Index types

Exact search compares the question with every stored vector. Approximate indexes such as HNSW
trade a little recall for much faster search on large collections.
""",
    "cloud-native-ai.md": """\
---
title: What cloud native AI means
kind: glossary
sources:
  - https://example.org/notes/cloud-native-ai
---

## Definition

Cloud native AI is the practice of building, training and serving AI workloads with cloud
native principles: containers, declarative APIs, orchestration by Kubernetes and automation.

## Why it matters

Teams reuse the same platform for data preparation, training and inference. Resources such as
GPUs are scheduled like any other cluster resource, and pipelines become repeatable.
""",
}


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2 embedder, loaded once per session (about ten seconds)."""
    return Embedder(threads=1)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder ``notes/`` of four short Markdown notes; treat it as read-only."""
    folder = tmp_path_factory.mktemp("tiny") / "notes"
    folder.mkdir()
    for name, text in TINY_NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_index(
    tiny_corpus: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The index of ``tiny_corpus`` built with the shared embedder; read-only, use index_copy."""
    index = tmp_path_factory.mktemp("tiny_index") / "index"
    ingest([tiny_corpus], index, embedder, show_progress=False)
    return index


@pytest.fixture
def index_copy(tiny_index: Path, tmp_path: Path) -> Path:
    """A private copy of ``tiny_index`` that a test may change."""
    return Path(shutil.copytree(tiny_index, tmp_path / "index"))


@pytest.fixture(scope="session")
def engine(tiny_index: Path, embedder: Embedder) -> Engine:
    """The real engine (hybrid retriever and extractive answerer) over ``tiny_index``."""
    return Engine(ServiceSettings(index=tiny_index), embedder)


def shared_corpus() -> Path:
    """The reference corpora (read-only), from CNAI_SHARED_CORPUS or ../shared/corpus."""
    default = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
    return Path(os.environ.get("CNAI_SHARED_CORPUS", default))


@pytest.fixture(scope="session")
def cnai_index(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the real CNAI documents, built once per session (about a minute)."""
    folder = shared_corpus() / "cnai"
    if not folder.is_dir():
        pytest.skip(f"reference corpus not found at {folder}; set CNAI_SHARED_CORPUS")
    index = tmp_path_factory.mktemp("cnai_index") / "index"
    ingest([folder], index, embedder, show_progress=False)
    return index
