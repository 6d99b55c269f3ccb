"""Ingestion on Ray Data: new and changed documents are loaded, chunked and embedded by a pool
of actors across a Ray cluster (local, or KubeRay through ``ray://``), each loading the
embedding model once; the driver keeps the incremental logic and writes the index version.

The actors call the pipeline's own ``build_documents``, so a cluster build equals a local one.
Every worker must read the documents at the same paths as the driver (e.g. one PVC mounted in
every Ray pod) and have this package's dependencies installed (the container image).
"""

from __future__ import annotations

import logging
import pickle
import socket
from pathlib import Path
from typing import Any

import numpy as np

import ingest
from ingest.chunker import Chunker
from ingest.embed import Embedder
from ingest.errors import BadInput
from ingest.pipeline import Builder, Built, build_documents

log = logging.getLogger(__name__)

RAY_HINT = "install it with: pip install 'cnai-assistant[ray]' (or make install)"
DOCS_PER_BATCH = 4  # small batches spread a corpus of few large files over every actor


class _BuildActor:
    """One Ray actor: the embedder and chunker built once, then batches of documents."""

    def __init__(self, model: str, chunk_tokens: int, batch_size: int, threads: int) -> None:
        self.embedder = Embedder(model, threads=threads)
        self.chunker = Chunker(self.embedder.count_tokens, chunk_tokens)
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        docs = [(str(d), Path(str(p))) for d, p in zip(batch["doc_id"], batch["path"], strict=True)]
        built = build_documents(docs, self.chunker, self.embedder, self.batch_size)
        # Chunks are dataclasses; Ray would pickle them anyway, one bytes value per document
        # keeps the batch a plain two-column table.
        return {
            "doc_id": np.array([d for d, _ in docs], dtype=object),
            "built": np.array([pickle.dumps(built[d]) for d, _ in docs], dtype=object),
        }


def connect(address: str | None, num_cpus: int | None = None) -> Any:
    """Join the Ray cluster at ``address`` (``auto``, ``ray://host:10001``) or start a local one."""
    try:
        import ray
    except ImportError:
        raise BadInput(f"--engine ray needs Ray, which is not installed; {RAY_HINT}") from None
    if address and address not in ("auto", "local"):
        _reachable(address)
    if ray.is_initialized():
        return ray
    # Ship this package's ingest code to the workers, so the cluster chunks exactly as we do.
    runtime_env = {"py_modules": [str(Path(ingest.__file__).parent)]}
    try:
        if address:
            ray.init(
                address=address,
                runtime_env=runtime_env,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
        else:
            ray.init(
                num_cpus=num_cpus,
                include_dashboard=False,
                runtime_env=runtime_env,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(
            f"cannot connect to {where} ({first}); check --address (auto, or ray://HOST:10001 "
            "for a KubeRay head service), or leave it out to start Ray on this machine"
        ) from None
    return ray


def _reachable(address: str) -> None:
    """Fail in seconds on a closed port: Ray itself retries a missing head for minutes."""
    hostport = address.removeprefix("ray://").split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise BadInput(
            f"--address {address!r} is not auto, HOST:PORT or ray://HOST:PORT "
            "(e.g. ray://raycluster-head-svc:10001)"
        )
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise BadInput(
            f"cannot reach the Ray cluster at {address!r}: nothing answers on {host}:{port} "
            f"({exc.strerror or exc}); is the head running and its port forwarded?"
        ) from None


def ray_builder(
    model: str,
    chunk_tokens: int,
    batch_size: int = 32,
    address: str | None = None,
    num_cpus: int | None = None,
    actors: int | None = None,
) -> Builder:
    """A pipeline Builder running on Ray; one actor per cluster CPU unless ``actors`` is given."""
    ray = connect(address, num_cpus)

    def build(docs: list[tuple[str, Path]]) -> dict[str, Built]:
        pool = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        pool = min(pool, max(1, -(-len(docs) // DOCS_PER_BATCH)))  # no idle actors
        items = [{"doc_id": d, "path": str(p.resolve())} for d, p in docs]
        ds = ray.data.from_items(items, override_num_blocks=-(-len(items) // DOCS_PER_BATCH))
        results = ds.map_batches(
            _BuildActor,
            fn_constructor_kwargs={
                "model": model,
                "chunk_tokens": chunk_tokens,
                "batch_size": batch_size,
                "threads": 1,  # one CPU per actor: parallelism comes from the pool
            },
            batch_size=DOCS_PER_BATCH,
            batch_format="numpy",
            concurrency=pool,
            num_cpus=1,
        )
        log.info("building %d documents on %d Ray actors", len(docs), pool)
        return {str(row["doc_id"]): pickle.loads(row["built"]) for row in results.iter_rows()}

    return build
