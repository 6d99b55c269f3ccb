"""A rich progress bar with items/s and time left, that stays silent when not wanted.

Rich draws a bar only on a terminal; into a pipe or a log file (CI, Docker, Kubernetes) it would
print nothing until the end, so there a plain line with the count, rate and time left is printed
at least every ``LINE_SECONDS`` and at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

LINE_SECONDS = 10.0  # a log that is silent longer than this looks stuck


class Progress:
    def __init__(
        self,
        description: str,
        total: int,
        unit: str = "chunks",
        enabled: bool = True,
        console: Console | None = None,
        every: float = LINE_SECONDS,
        on_advance: Callable[[int, int], None] | None = None,
    ):
        """``on_advance(done, total)`` is called after each step (an API job's progress)."""
        self._on_advance = on_advance
        console = console or Console(stderr=True)
        self._every = every
        self._last = time.monotonic()
        self._lines = enabled and not console.is_terminal
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled or self._lines,
        )
        self._unit = unit
        self._task = self._bar.add_task(description, total=total, rate="")

    def advance(self, n: int) -> None:
        self._bar.advance(self._task, n)
        task = self._bar.tasks[0]  # rich keeps the count, the total and the speed
        rate = f"{task.speed:,.1f} {self._unit}/s" if task.speed else ""
        if rate:
            self._bar.update(self._task, rate=rate)
        done, total = int(task.completed), int(task.total or 0)
        if self._on_advance:
            self._on_advance(done, total)
        now = time.monotonic()
        if self._lines and total and (now - self._last >= self._every or done >= total):
            self._last = now
            left = task.time_remaining
            eta = f", {left:,.0f} s left" if left is not None and done < total else ""
            self._bar.console.print(
                f"{task.description}: {done:,}/{total:,} {self._unit} "
                f"({100 * done // total}%) {rate}{eta}".rstrip(),
                highlight=False,
            )

    def __enter__(self) -> Progress:
        self._bar.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()
