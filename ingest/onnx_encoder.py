"""The embedding model exported once to ONNX, for query embedding in the API.

Serving embeds short queries and never trains, and most of a cold start was importing
sentence-transformers and torch (7 and 2 seconds of a 10.8 s model-only start, issue 17). ONNX
Runtime loads the same weights in under a second, gives the same vectors (within 1e-6), and a
one-query call takes about a third of the time on these cores. Ingestion keeps the torch
:class:`~ingest.embed.Embedder`: it needs the token embeddings for pooled sentence vectors.

The export is kept in a cache folder keyed by the model's files, written atomically and checked
against its recorded SHA-256 on every load; it is never read from the index, so an index holds
data only. Models other than a BERT-like transformer with mean pooling are refused
(:class:`Unsupported`) and served by torch instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ingest.embed import Embedder, embed_by_length, resolve_model_path
from ingest.errors import IndexMismatch
from ingest.store import sha256_of

if TYPE_CHECKING:
    import onnxruntime

    from ingest.progress import Progress

log = logging.getLogger(__name__)

# Bumped when the exported graph or its metadata change, so old exports are not reused.
EXPORT_VERSION = 1
_OPSET = 17
# Largest difference allowed between the torch and ONNX vectors of the probe texts at export.
_MAX_EXPORT_DIFF = 1e-4
_PROBES = ["How does KServe scale a model to zero?", "GPU", "A longer probe " * 40]


class Unsupported(Exception):
    """The model cannot be exported (its modules are not transformer + mean pooling)."""


def cache_key(model: str) -> str:
    """Names the export of ``model``: its id, its files (paths, sizes, mtimes) and the versions."""
    path = Path(resolve_model_path(model))
    digest = hashlib.sha256(f"{model}\n{EXPORT_VERSION}\n".encode())
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            st = f.stat()
            digest.update(f"{f.relative_to(path)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    slug = "".join(ch if ch.isalnum() else "-" for ch in model.strip("/").split("/")[-1])
    return f"{slug[:40]}-{digest.hexdigest()[:16]}"


def export_folder(model: str, cache: Path) -> Path:
    return cache / "onnx" / cache_key(model)


def ensure_export(embedder: Embedder, cache: Path) -> Path:
    """The export folder of ``embedder``'s model, exporting it first if the cache lacks it.

    Several processes may start at once (``--workers``): one exports under a lock, the others
    wait and then read its result.
    """
    folder = export_folder(embedder.model_id, cache)
    if (folder / "export.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.parent / ".lock"):
        if (folder / "export.json").is_file():
            return folder
        tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            _export(embedder, tmp)
            tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _modules(embedder: Embedder) -> tuple[Any, Any]:
    """The transformer and pooling modules, or Unsupported for any other stack."""
    names = [type(m).__name__ for m in embedder.model]
    extra = [n for n in names[2:] if n != "Normalize"]
    if len(names) < 2 or names[0] != "Transformer" or names[1] != "Pooling" or extra:
        raise Unsupported(f"modules {names}: only Transformer, Pooling (mean), Normalize export")
    pooling = embedder.model[1]
    if getattr(pooling, "pooling_mode", "mean") != "mean" and not getattr(
        pooling, "pooling_mode_mean_tokens", False
    ):
        raise Unsupported("only mean pooling exports")
    return embedder.model[0], pooling


def _export(embedder: Embedder, folder: Path) -> None:
    import torch

    transformer, _ = _modules(embedder)
    net = transformer.auto_model.eval()
    attention = getattr(net.config, "_attn_implementation", None)
    if attention and hasattr(net, "set_attn_implementation"):
        net.set_attn_implementation("eager")  # SDPA's masking does not trace to ONNX faithfully
    tokenizer = embedder.model.tokenizer
    sample = tokenizer(_PROBES[:2], padding=True, return_tensors="pt")
    inputs = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]

    class Tokens(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.net(**dict(zip(inputs, args, strict=True))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in [*inputs, "tokens"]}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it treats as constant
        torch.onnx.export(
            Tokens(),
            tuple(sample[k] for k in inputs),
            str(folder / "model.onnx"),
            input_names=inputs,
            output_names=["tokens"],
            dynamic_axes=axes,
            opset_version=_OPSET,
            dynamo=False,
        )
    if attention and hasattr(net, "set_attn_implementation"):
        net.set_attn_implementation(attention)
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    meta = {
        "model": embedder.model_id,
        "export_version": EXPORT_VERSION,
        "dimension": embedder.dimension,
        "max_tokens": embedder.max_tokens,
        "inputs": inputs,
        "pad_id": int(tokenizer.pad_token_id or 0),
        "files": {n: sha256_of(folder / n) for n in ("model.onnx", "tokenizer.json")},
    }
    (folder / "export.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
    # The export must give the model's own vectors, or it is not used.
    exported = OnnxEmbedder(folder, embedder.model_id, threads=1)
    diff = float(np.abs(exported.embed(_PROBES) - embedder.embed(_PROBES)).max())
    if diff > _MAX_EXPORT_DIFF:
        raise Unsupported(f"the ONNX export differs from the model by {diff:.2g}")


class OnnxEmbedder:
    """Query-side embeddings from an export: the :class:`Embedder` methods serving uses."""

    def __init__(self, folder: Path, model: str, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        try:
            meta = json.loads((folder / "export.json").read_text())
        except (OSError, ValueError) as exc:
            raise IndexMismatch(f"unreadable ONNX export {folder} ({exc})") from exc
        if meta.get("model") != model or meta.get("export_version") != EXPORT_VERSION:
            raise IndexMismatch(f"the ONNX export in {folder} is not of {model!r}")
        for name, expected in meta["files"].items():
            path = folder / name
            if not path.is_file() or sha256_of(path) != expected:
                raise IndexMismatch(
                    f"ONNX export {folder}: {name} is missing or corrupt; delete the folder to "
                    "export it again"
                )
        self.model_id = model
        self.dimension = int(meta["dimension"])
        self.max_tokens = int(meta["max_tokens"])
        self._inputs: list[str] = meta["inputs"]
        self._plain = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._plain.no_padding()
        self._plain.no_truncation()
        self._batch = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._batch.enable_truncation(self.max_tokens)
        self._batch.enable_padding(pad_id=int(meta["pad_id"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 1
        options.inter_op_num_threads = 1
        self._session: onnxruntime.InferenceSession = ort.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def word_pieces(self, text: str) -> list[str]:
        return list(self._plain.encode(text, add_special_tokens=False).tokens)

    def count_tokens(self, text: str) -> int:
        return len(self._plain.encode(text, add_special_tokens=False).ids)

    def embed(
        self, texts: list[str], batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        return embed_by_length(texts, self.dimension, self.embed_queries, batch_size, progress)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """One model call over ``texts``: mean of the token embeddings, normalised."""
        encoded = self._batch.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        tokens = self._session.run(None, {k: feeds[k] for k in self._inputs})[0]
        weights = mask[..., None].astype(np.float32)
        means = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(means, axis=1, keepdims=True), 1e-12, None)
        return (means / norms).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]


# What the API embeds queries with: the ONNX export, or the torch model when it cannot export.
QueryEmbedder = Embedder | OnnxEmbedder


def query_embedder(model: str, cache: Path, threads: int | None = None) -> QueryEmbedder:
    """The ONNX embedder of ``model``, exported into ``cache`` on first use; the torch
    :class:`Embedder` when the model or this install cannot export."""
    folder = export_folder(model, cache)
    if (folder / "export.json").is_file():
        return OnnxEmbedder(folder, model, threads)
    embedder = Embedder(model, threads=threads)
    try:
        folder = ensure_export(embedder, cache)
    except (Unsupported, ImportError, OSError) as exc:  # OSError: a read-only cache
        log.warning("serving %s with torch: no ONNX export (%s)", model, exc)
        return embedder
    return OnnxEmbedder(folder, model, threads)
