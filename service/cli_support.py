"""What every ``cnai`` command shares: the consoles, the --index option, error handling."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from ingest.errors import BadInput, CnaiError

if TYPE_CHECKING:
    from service.engine import Engine

# soft_wrap keeps each message on one line, whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
T = TypeVar("T")

IndexOpt = Annotated[
    Path | None,
    typer.Option("--index", help="Index folder. [env: CNAI_INDEX; default: var/index]"),
]

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store", help="Dense search in faiss or milvus. [env: CNAI_STORE; default: faiss]"
    ),
]
MilvusUriOpt = Annotated[
    str | None,
    typer.Option(
        "--milvus-uri",
        help="Milvus URL or milvus-lite .db file. [env: CNAI_MILVUS_URI; default: var/milvus.db]",
    ),
]


def run(fn: Callable[[], T]) -> T:
    """Run a command body, turning domain and settings errors into one clear line."""
    try:
        return fn()
    except CnaiError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"CNAI_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        err.print(f"[red]error: invalid setting[/red] {problems}")
        raise typer.Exit(2) from None


def overrides(**values: Any) -> dict[str, Any]:
    """The options given on the command line; the rest come from the environment."""
    return {k: v for k, v in values.items() if v is not None}


def validated(build: Callable[[], T]) -> T:
    """Build a request model; what it rejects becomes a BadInput, one clear line."""
    try:
        return build()
    except ValidationError as exc:
        raise BadInput("; ".join(e["msg"] for e in exc.errors())) from None


def load_engine(
    index: Path | None, store: str | None = None, milvus_uri: str | None = None
) -> Engine:
    from service.engine import Engine
    from service.settings import ServiceSettings

    return Engine(ServiceSettings(**overrides(index=index, store=store, milvus_uri=milvus_uri)))
