"""An MCP server over stdio with two tools, ``search_cnai`` and ``ask_cnai`` (``cnai mcp``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from ingest.errors import CnaiError
from service.engine import Engine
from service.schemas import AskRequest, AskResponse, Mode, SearchRequest, SearchResponse

T = TypeVar("T")


def build_server(engine: Engine) -> MCPServer:
    server: MCPServer = MCPServer(
        name="cnai",
        instructions="Grounded answers about Cloud Native AI (the CNCF whitepaper, glossary, "
        "working group and talks). Answers cite passages as [n]; they say so when the knowledge "
        "base does not cover a question.",
    )

    @server.tool()
    async def search_cnai(query: str, k: int = 5) -> SearchResponse:
        """Passages of the Cloud Native AI knowledge base that best match the query, best first."""
        return await _call(lambda: engine.search(SearchRequest(query=query, k=k)))

    @server.tool()
    async def ask_cnai(question: str, k: int = 5, mode: Mode | None = None) -> AskResponse:
        """Answer a question about Cloud Native AI from the knowledge base, citing passages
        as [n] (the ids of `citations`); abstains rather than guesses."""
        return await _call(lambda: engine.ask(AskRequest(question=question, k=k, mode=mode)))

    return server


async def _call(fn: Callable[[], T]) -> T:
    """Run off the event loop; bad input and domain errors reach the client as their message."""
    try:
        return await anyio.to_thread.run_sync(fn)
    except ValidationError as exc:
        raise ToolError("; ".join(e["msg"] for e in exc.errors())) from None
    except CnaiError as exc:
        raise ToolError(str(exc)) from None
