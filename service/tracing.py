"""Optional OpenTelemetry tracing: one span per engine stage, made from the stage timings.

The engine already times every stage (``timings_ms``); the spans are built from those marks
when a request is done, so tracing adds no code inside the stages and nothing when it is off.
OpenTelemetry is imported only when CNAI_OTLP_ENDPOINT is set (``pip install '.[otel]'``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ingest.errors import BadInput

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

# timings_ms key -> span stage; keys not here (first_token, first_text, total) are not stages.
STAGES = {
    "rewrite": "rewrite",
    "embed": "embed",
    "retrieve": "search",
    "answer": "answer",
    "generate": "generate",
    "support": "support",
}
RERANK_PREFIX = "rerank_"  # rerank_<backend> from the second-stage reranker
RERANK_FALLBACK = "rerank_fallback"  # a flag, not a duration


def provider(endpoint: str, service_name: str | None = None) -> TracerProvider:
    """A tracer provider that batches spans to ``endpoint``'s OTLP/HTTP ``/v1/traces``."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise BadInput(
            "CNAI_OTLP_ENDPOINT is set but OpenTelemetry is not installed: "
            "pip install 'cnai-assistant[otel]', or unset CNAI_OTLP_ENDPOINT"
        ) from exc
    url = endpoint.rstrip("/")
    if not url.endswith("/v1/traces"):
        url += "/v1/traces"
    name = service_name or os.environ.get("OTEL_SERVICE_NAME") or "cnai-assistant"
    made = TracerProvider(resource=Resource.create({"service.name": name}))
    made.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    return made


def tracer(source: TracerProvider) -> Tracer:
    return source.get_tracer("cnai-assistant")


def record(
    tracer: Tracer,
    operation: str,
    start_ns: int,
    end_ns: int,
    ms: Mapping[str, float],
    ended_ns: Mapping[str, int],
) -> None:
    """A ``cnai.request`` span with a ``cnai.<stage>`` child per stage; a stage ended when its
    time was set."""
    from opentelemetry import trace

    root = tracer.start_span("cnai.request", start_time=start_ns)
    root.set_attribute("cnai.operation", operation)
    context = trace.set_span_in_context(root)
    for key, value in ms.items():
        stage = STAGES.get(key) or (
            "rerank" if key.startswith(RERANK_PREFIX) and key != RERANK_FALLBACK else None
        )
        if stage is None or key not in ended_ns:
            continue
        end = ended_ns[key]
        span = tracer.start_span(
            f"cnai.{stage}", context=context, start_time=max(start_ns, end - int(value * 1e6))
        )
        span.set_attribute("cnai.stage.ms", value)
        if stage == "rerank":
            span.set_attribute("cnai.reranker", key[len(RERANK_PREFIX) :])
            span.set_attribute("cnai.rerank.fallback", RERANK_FALLBACK in ms)
        span.end(end_time=end)
    root.set_attribute("cnai.total.ms", (end_ns - start_ns) / 1e6)
    root.end(end_time=end_ns)
