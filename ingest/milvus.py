"""Chunk vectors in Milvus (a server, or milvus-lite in a local ``.db`` file) for dense search.

The index version folder stays the one source of truth: its chunks.sqlite holds the text and
metadata, and the collection, named after the version (``cnai_v_<stamp>``), holds a copy of its
chunk vectors keyed by row. A collection is written once per version and never updated, so it
cannot drift from the files; a new version gets a new collection and old ones are dropped.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from ingest.errors import BadInput, IndexNotFound
from ingest.store import IndexVersion

log = logging.getLogger(__name__)

MILVUS_HINT = "install it with: pip install 'cnai-assistant[milvus]' (or make install)"
_PREFIX = "cnai_"
_INSERT_BATCH = 1000


def check_uri(uri: str) -> str:
    """A Milvus server URL (http(s)://, tcp://) or a milvus-lite file ending in ``.db``."""
    uri = uri.strip()
    if uri.startswith(("http://", "https://", "tcp://", "unix:")):
        return uri
    if uri.endswith(".db"):
        return uri
    raise ValueError(
        "must be a Milvus server URL such as http://127.0.0.1:19530 or a milvus-lite file "
        "ending in .db such as var/milvus.db"
    )


def collection_name(version: IndexVersion) -> str:
    """The collection of one index version: letters, digits and underscores, as Milvus wants."""
    return _PREFIX + re.sub(r"[^0-9A-Za-z_]", "_", version.folder.name)


def connect(uri: str) -> Any:
    """A MilvusClient; clear errors for a missing package or an unusable URI."""
    try:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException
    except ImportError:
        raise BadInput(
            f"--store milvus needs pymilvus, which is not installed; {MILVUS_HINT}"
        ) from None
    uri = check_uri(uri)
    if uri.endswith(".db") and "://" not in uri:
        Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
        uri = str(Path(uri).expanduser())
    try:
        return MilvusClient(uri=uri, timeout=10)
    except (MilvusException, OSError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise BadInput(
            f"cannot open Milvus at {uri!r} ({message}); start the server or check "
            "--milvus-uri / CNAI_MILVUS_URI (a http://HOST:19530 URL or a local .db file)"
        ) from None


def load_version(version: IndexVersion, uri: str, keep: int = 2) -> str:
    """Copy the version's chunk vectors into its collection (once); drop collections of
    versions older than the ``keep`` newest. Returns the collection name."""
    from pymilvus import DataType, MilvusClient

    client = connect(uri)
    name = collection_name(version)
    if client.has_collection(name) and _rows(client, name) == len(version.chunks):
        return name
    if client.has_collection(name):  # a load that crashed half way
        client.drop_collection(name)
    schema = MilvusClient.create_schema(auto_id=False, description=str(version.folder))
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=version.manifest.dimension)
    schema.add_field("chunk_id", DataType.VARCHAR, max_length=1024)
    params = client.prepare_index_params()
    # FLAT: exact inner product, the same ranking as the FAISS IndexFlatIP beside it.
    params.add_index("vector", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=params)
    vectors = version.vectors.reconstruct_n(0, version.vectors.ntotal)
    for start in range(0, len(version.chunks), _INSERT_BATCH):
        rows = range(start, min(start + _INSERT_BATCH, len(version.chunks)))
        client.insert(
            name,
            [
                {"row": i, "vector": vectors[i].tolist(), "chunk_id": version.chunks[i].chunk_id}
                for i in rows
            ],
        )
    client.flush(name)
    _prune(client, keep)
    return name


def _rows(client: Any, name: str) -> int:
    return int(client.get_collection_stats(name).get("row_count", 0))


def _prune(client: Any, keep: int) -> None:
    ours = sorted(c for c in client.list_collections() if c.startswith(_PREFIX + "v_"))
    for old in ours[:-keep]:
        client.drop_collection(old)


class MilvusDense:
    """Dense search over a version's collection; rows are the index's chunk rows."""

    def __init__(self, version: IndexVersion, uri: str) -> None:
        self.client = connect(uri)
        self.name = collection_name(version)
        hint = f"load it with: cnai milvus load --index {version.folder.parent} --milvus-uri {uri}"
        if not self.client.has_collection(self.name):
            raise IndexNotFound(f"Milvus at {uri!r} has no collection {self.name}; {hint}")
        rows = _rows(self.client, self.name)
        if rows != len(version.chunks):
            raise IndexNotFound(
                f"collection {self.name} holds {rows} vectors for {len(version.chunks)} chunks; "
                + hint
            )
        self.client.load_collection(self.name)

    def search(
        self, qvec: np.ndarray, pool: int, allowed: np.ndarray | None
    ) -> tuple[dict[int, float], list[int]]:
        """The ``pool`` best allowed rows by inner product, best first, and their scores.

        Filters arrive as the retriever's row mask and go to Milvus as ``row in [...]``, so
        they mean exactly what they mean over FAISS (kind, document prefix or suffix, project).
        """
        expr = ""
        if allowed is not None:
            rows = np.flatnonzero(allowed)
            if not len(rows):
                return {}, []
            expr = f"row in [{','.join(map(str, rows.tolist()))}]"
        result = self.client.search(
            self.name,
            [np.asarray(qvec, dtype=np.float32).tolist()],
            limit=pool,
            filter=expr,
            output_fields=["row"],
            search_params={"metric_type": "IP"},
        )
        # The row comes back as an output field: hits name the key "id" or "row" by version.
        dense = {int(hit["entity"]["row"]): float(hit["distance"]) for hit in result[0]}
        return dense, list(dense)
