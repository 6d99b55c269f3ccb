"""What the API imports to start (issue 17): only what serving search and ask needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from service.prompts import answer_messages, rewrite_messages

ROOT = Path(__file__).resolve().parents[2]
# Each costs a quarter to several seconds of import on a loaded machine and serves only
# ingestion (loaders, splitter, torch) or the generative paths (langchain_core).
INGEST_OR_GENERATION_ONLY = (
    "torch",
    "sentence_transformers",
    "transformers",
    "langchain_core",
    "langchain_text_splitters",
    "pypdf",
    "bs4",
    "ingest.pipeline",
)


def _modules_after(code: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_the_api_and_cli_leaves_ingestion_and_generation_libraries_unloaded() -> None:
    loaded = _modules_after("import service.app, service.cli")
    assert "fastapi" in loaded  # the probe sees real imports
    assert loaded.isdisjoint(INGEST_OR_GENERATION_ONLY), loaded & set(INGEST_OR_GENERATION_ONLY)


def test_the_prompts_still_build_langchain_messages_when_first_used() -> None:
    answer = answer_messages("What is MIG?", ["MIG splits a GPU."])
    assert [m.type for m in answer] == ["human"]
    assert "[1] MIG splits a GPU." in answer[0].text and "What is MIG?" in answer[0].text
    rewrite = rewrite_messages([("user", "What is MIG?"), ("assistant", "A GPU split.")], "Why?")
    assert [m.type for m in rewrite] == ["system", "human"]
    assert "User: What is MIG?" in rewrite[1].text and "Last question: Why?" in rewrite[1].text
