"""What every ``cnai`` command shares: the consoles, the --index option, error handling."""

from __future__ import annotations

import socket
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
    except OSError as exc:  # a path the command could not read or write: name it, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(
            f"[red]error:[/red] {where}{exc.strerror or exc}; check the path and its permissions"
        )
        raise typer.Exit(2) from None


def overrides(**values: Any) -> dict[str, Any]:
    """The options given on the command line; the rest come from the environment."""
    return {k: v for k, v in values.items() if v is not None}


def validated(build: Callable[[], T]) -> T:
    """Build a request model; what it rejects becomes a BadInput, one clear line."""
    try:
        return build()
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            # A field validator's message already names its field ("question must not ...").
            field = ".".join(map(str, e["loc"]))
            msg = e["msg"].removeprefix("Value error, ")
            problems.append(msg if not field or msg.startswith(field) else f"{field}: {msg}")
        raise BadInput("; ".join(problems)) from None


def writable_index(index: Path) -> None:
    """Fail before the model loads when the index folder cannot be made or is a file."""
    if index.exists() and not index.is_dir():
        raise BadInput(f"--index {index} is a file; pass a folder for the index")
    try:
        index.mkdir(parents=True, exist_ok=True)
        probe = index / ".cnai-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise BadInput(
            f"--index {index} cannot be written ({exc.strerror or exc}); pass a writable folder"
        ) from None


def check_listen(host: str, port: int) -> None:
    """Fail with one line when ``host:port`` cannot be listened on (before the index loads)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise BadInput(
            f"--host {host!r} is not an address of this machine ({exc.strerror}); "
            "use 127.0.0.1, or 0.0.0.0 for every interface"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn sets it
        try:
            sock.bind(address)
        except OSError as exc:
            raise BadInput(
                f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port, "
                "or a --host of this machine such as 127.0.0.1"
            ) from None


def load_engine(
    index: Path | None, store: str | None = None, milvus_uri: str | None = None
) -> Engine:
    from service.engine import Engine
    from service.settings import ServiceSettings

    return Engine(ServiceSettings(**overrides(index=index, store=store, milvus_uri=milvus_uri)))
