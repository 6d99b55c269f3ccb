"""``cnai mcp``: the MCP server over stdio, driven by the MCP client from the same package."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.service.conftest import ROOT


async def call_tools(index: Path) -> tuple[list[str], Any, Any, Any]:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "service.cli", "mcp", "--index", str(index)],
        env={"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "PATH": os.environ["PATH"]},
        cwd=str(ROOT),
    )
    async with Client(server, read_timeout_seconds=120) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        found = await client.call_tool("search_cnai", {"query": "partition a GPU", "k": 2})
        asked = await client.call_tool(
            "ask_cnai", {"question": "What does scaling to zero cost the first request?"}
        )
        empty = await client.call_tool("ask_cnai", {"question": "  "})
    return tools, found, asked, empty


@pytest.mark.slow
def test_the_mcp_tools_search_and_answer_from_the_index(tiny_index: Path) -> None:
    tools, found, asked, empty = anyio.run(call_tools, tiny_index)
    assert {"search_cnai", "ask_cnai"} <= set(tools)
    results = found.structured_content["results"]
    assert len(results) == 2 and results[0]["source"]["path"] == "notes/gpu-sharing.md"
    answer = asked.structured_content
    assert "cold start" in answer["answer"] and answer["citations"][0]["id"] == 1
    assert empty.is_error and "question must not be empty" in str(empty.content)
