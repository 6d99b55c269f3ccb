"""A real ``cnai serve`` on a free loopback port, timed from launch to ready, with its peak RSS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_bytes(pid: int) -> int:
    """Peak resident memory (VmHWM) of ``pid`` plus that of its child processes (workers)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    kids = [int(c) for c in found]
    return kids + [g for c in kids for g in _children(c)]


class Server:
    """``with Server(index) as s: httpx.get(s.url + "/readyz")``; ``s.ready_s`` is cold start."""

    def __init__(
        self,
        index: Path,
        workers: int = 1,
        timeout_s: float = 300,
        log: Path | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """``cwd`` is where the server runs: ``python -m`` puts it first on the import path, so
        to serve another checkout, pass that checkout (PYTHONPATH alone is not enough)."""
        if not (index / "CURRENT").is_file():
            raise ValueError(f"no index at {index}; build one with: cnai ingest PATH --index DIR")
        self.index, self.workers, self.timeout_s = index, workers, timeout_s
        self.extra_env, self.cwd = env or {}, cwd
        self.log = log or Path(tempfile.mkstemp(prefix="cnai-bench-serve-", suffix=".log")[1])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_s = 0.0
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        env = dict(os.environ, CNAI_INDEX=str(self.index), CNAI_ANSWERER="extractive")
        env.update(self.extra_env)
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        cmd = [sys.executable, "-m", "service.cli", "serve", "--port", str(self.port)]
        cmd += ["--workers", str(self.workers)]
        sink = self.log.open("wb")
        start = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=sink, cwd=self.cwd)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.ready_s = time.perf_counter() - start
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.timeout_s
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"the API exited with code {self.proc.returncode} before it was ready"
                    )
                try:
                    if client.get(f"{self.url}/readyz").status_code == 200 and self._all_up():
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"the API at {self.url} was not ready after {self.timeout_s:.0f} s")

    def _all_up(self) -> bool:
        """Every worker has loaded: a worker still loading accepts no connection yet, so one
        200 from /readyz says nothing of the others; uvicorn logs each one's start-up."""
        if self.workers == 1:
            return True
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count("Application startup complete") >= self.workers

    def peak_rss(self) -> int:
        assert self.proc is not None
        return peak_rss_bytes(self.proc.pid)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
