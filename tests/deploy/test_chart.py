"""The Helm chart, rendered by the real Helm engine (helm-python-sdk) for each values file,
every manifest checked against the Kubernetes schemas (kubernetes-validate), and Helm's lint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from helm_python import Chart, lint
from helm_python.errors import HelmError
from kubernetes_validate.utils import all_versions

from service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "cnai-assistant"
VALUES_FILES = [
    "values.yaml",
    "values-production.yaml",
    "values-kserve-vllm.yaml",
    "values-ollama.yaml",
]
# Custom resources have no schema among Kubernetes' own: their operators' CRDs define them, and
# those are not installed here. They get the structural checks below instead.
CRDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("serving.kserve.io/v1beta1", "InferenceService"),
}
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas.
KUBE_VERSIONS = ["1.27", all_versions()[-1]]
# Settings that the auth helper (issue 15) reads; not ServiceSettings fields on this branch.
AUTH_KEYS = {"CNAI_API_KEYS", "CNAI_ADMIN_KEYS"}
Manifest = dict[str, Any]


def values_of(name: str) -> dict[str, Any] | None:
    return None if name == "values.yaml" else yaml.safe_load((CHART / name).read_text())


def render(values: dict[str, Any] | None = None) -> list[Manifest]:
    with Chart.load(CHART) as chart:
        files = chart.render(values, name="cnai", namespace="ai")
    docs = [
        doc
        for path, text in files.items()
        if path.endswith((".yaml", ".yml"))
        for doc in yaml.safe_load_all(text)
        if doc
    ]
    return docs


def by_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[Manifest], kind: str, suffix: str = "") -> Manifest:
    found = [d for d in by_kind(docs, kind) if d["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, (kind, suffix, [d["metadata"]["name"] for d in found])
    return found[0]


def validate(doc: Manifest) -> None:
    for version in KUBE_VERSIONS:
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.fixture(scope="module", params=VALUES_FILES)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Manifest]]:
    return request.param, render(values_of(request.param))


def test_every_rendered_manifest_is_valid_kubernetes(rendered: tuple[str, list[Manifest]]) -> None:
    name, docs = rendered
    assert docs, name
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CRDS:
            assert doc["metadata"]["name"] and doc["spec"], doc
            continue
        validate(doc)


def test_the_validator_rejects_a_broken_manifest() -> None:
    deployment = one(render(), "Deployment", "-api")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    deployment["spec"]["replicas"] = 1
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pot"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)


@pytest.mark.parametrize("name", VALUES_FILES)
def test_helm_lint_finds_no_warning_or_error(name: str) -> None:
    report = lint(CHART, values_of(name), strict=True, kube_version="v1.30.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], report


def test_api_probes_security_and_read_only_index(rendered: tuple[str, list[Manifest]]) -> None:
    _, docs = rendered
    pod = one(docs, "Deployment", "-api")["spec"]["template"]["spec"]
    (api,) = pod["containers"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["resources"]["requests"]["cpu"] and api["resources"]["limits"]["memory"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert api["securityContext"]["allowPrivilegeEscalation"] is False
    assert api["securityContext"]["readOnlyRootFilesystem"] is True
    mount = next(m for m in api["volumeMounts"] if m["mountPath"] == "/data")
    assert mount["readOnly"] is True
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["persistentVolumeClaim"]["readOnly"] is True


def test_ingest_job_writes_the_claim_the_api_reads(rendered: tuple[str, list[Manifest]]) -> None:
    _, docs = rendered
    api_pod = one(docs, "Deployment", "-api")["spec"]["template"]["spec"]
    job_pod = one(docs, "Job")["spec"]["template"]["spec"]
    claim = {
        v["persistentVolumeClaim"]["claimName"]
        for v in api_pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    (ingest,) = job_pod["containers"]
    assert ingest["args"][0] == "ingest" and ingest["args"][2:] == ["--index", "/data/index"]
    index_volume = next(v for v in job_pod["volumes"] if v["name"] == "index")
    assert {index_volume["persistentVolumeClaim"]["claimName"]} == claim
    assert not index_volume["persistentVolumeClaim"].get("readOnly")
    assert job_pod["restartPolicy"] == "Never"
    assert one(docs, "PersistentVolumeClaim")["metadata"]["name"] in claim


def test_configmap_and_secret_hold_real_settings_that_parse(
    rendered: tuple[str, list[Manifest]],
) -> None:
    name, docs = rendered
    env = dict(one(docs, "ConfigMap")["data"])
    secrets = by_kind(docs, "Secret")
    for secret in secrets:
        env.update(secret["stringData"])
    fields = {f"CNAI_{f.upper()}" for f in ServiceSettings.model_fields}
    unknown = {k for k in env if k.startswith("CNAI_")} - fields - AUTH_KEYS
    assert not unknown, f"{name}: not settings of service/settings.py: {unknown}"
    settings = ServiceSettings(
        **{
            k[5:].lower(): v
            for k, v in env.items()
            if k[5:].lower() in ServiceSettings.model_fields
        }
    )
    assert settings.host == "0.0.0.0" and str(settings.index) == "/data/index"
    assert settings.index_reload_seconds > 0
    api = one(docs, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    refs = {next(iter(r.values()))["name"] for r in api["envFrom"]}
    assert one(docs, "ConfigMap")["metadata"]["name"] in refs
    assert all(s["metadata"]["name"] in refs for s in secrets)


def test_default_values_answer_without_an_llm_and_scale_by_hand() -> None:
    docs = render()
    config = one(docs, "ConfigMap")["data"]
    assert config["CNAI_ANSWERER"] == "extractive" and config["CNAI_RERANKER"] == "none"
    kinds = {d["kind"] for d in docs}
    assert not kinds & {
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
        "CronJob",
        "ServiceMonitor",
        "InferenceService",
    }


def test_production_scales_on_cpu_keeps_pods_through_disruptions_and_is_scraped() -> None:
    docs = render(values_of("values-production.yaml"))
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert (
        hpa["spec"]["scaleTargetRef"]["name"] == one(docs, "Deployment", "-api")["metadata"]["name"]
    )
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in one(docs, "Deployment", "-api")["spec"]  # the HPA owns it
    pdb = one(docs, "PodDisruptionBudget")
    api_labels = one(docs, "Deployment", "-api")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= api_labels.items()
    monitor = one(docs, "ServiceMonitor")
    service = one(docs, "Service", "-api")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    cron = one(docs, "CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    ingress = one(docs, "Ingress")
    backends = {
        p["backend"]["service"]["name"]
        for r in ingress["spec"]["rules"]
        for p in r["http"]["paths"]
    }
    assert backends == {
        one(docs, "Service", "-api")["metadata"]["name"],
        one(docs, "Service", "-ui")["metadata"]["name"],
    }
    assert not by_kind(docs, "Secret")  # keys come from the existing Secret
    refs = [
        r
        for r in one(docs, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0][
            "envFrom"
        ]
        if "secretRef" in r
    ]
    assert refs[0]["secretRef"]["name"] == "cnai-keys"


def test_kserve_values_point_the_api_at_the_inference_service_and_tei() -> None:
    docs = render(values_of("values-kserve-vllm.yaml"))
    isvc = one(docs, "InferenceService")
    model = isvc["spec"]["predictor"]["model"]
    assert model["modelFormat"]["name"] == "huggingface"
    assert model["storageUri"].startswith("hf://")
    config = one(docs, "ConfigMap")["data"]
    assert config["CNAI_ANSWERER"] == "openai"
    name = isvc["metadata"]["name"]
    assert (
        config["CNAI_OPENAI_BASE_URL"] == f"http://{name}-predictor.ai.svc.cluster.local/openai/v1"
    )
    assert f"--model_name={config['CNAI_OPENAI_MODEL']}" in model["args"]
    assert config["CNAI_RERANKER"] == "http" and config["CNAI_RERANKER_URL"].startswith("http://")


def test_ollama_values_use_its_openai_api() -> None:
    config = one(render(values_of("values-ollama.yaml")), "ConfigMap")["data"]
    assert config["CNAI_ANSWERER"] == "openai"
    assert config["CNAI_OPENAI_BASE_URL"].endswith(":11434/v1")
    assert config["CNAI_OPENAI_MODEL"]


def test_api_keys_go_to_the_secret_joined_by_commas() -> None:
    docs = render({"auth": {"apiKeys": ["k1", "k2"], "adminKeys": ["a1"]}})
    secret = one(docs, "Secret")["stringData"]
    assert secret["CNAI_API_KEYS"] == "k1,k2" and secret["CNAI_ADMIN_KEYS"] == "a1"
    assert "k1" not in str(one(docs, "ConfigMap")["data"])


def test_documents_from_a_claim_are_mounted_read_only_for_ingest() -> None:
    docs = render(
        {"ingest": {"documents": {"existingClaim": "my-docs"}, "cronJob": {"enabled": True}}}
    )
    for pod in (
        one(docs, "Job")["spec"]["template"]["spec"],
        one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"],
    ):
        (container,) = pod["containers"]
        assert container["args"][1] == "/docs/in"
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/docs/in")
        assert mount["readOnly"] is True
        assert {
            "name": "documents",
            "persistentVolumeClaim": {"claimName": "my-docs", "readOnly": True},
        } in pod["volumes"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"llm": {"answerer": "openai"}}, "llm.baseUrl is empty"),
        ({"llm": {"answerer": "gpt"}}, "llm.answerer must be one of"),
        ({"llm": {"baseUrl": "vllm:8000/v1"}}, "llm.baseUrl must be an http(s) URL"),
        ({"reranker": {"url": "tei:8080"}}, "reranker.url must be an http(s) URL"),
        (
            {"api": {"autoscaling": {"enabled": True, "minReplicas": 4, "maxReplicas": 2}}},
            "maxReplicas",
        ),
        (
            {
                "ingress": {
                    "enabled": True,
                    "hosts": [{"host": "x", "paths": [{"path": "/", "service": "db"}]}],
                }
            },
            "must be api or ui",
        ),
    ],
)
def test_bad_values_fail_the_render_saying_what_to_change(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmError, match=message.replace("(", r"\(").replace(")", r"\)")):
        render(values)
