"""A rich progress bar with items/s and time left, that stays silent when not wanted.

Rich draws a bar only on a terminal; into a pipe or a log file it would print nothing until the
end, so there a plain line is printed at every tenth of the work instead.
"""

from __future__ import annotations

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


class Progress:
    def __init__(self, description: str, total: int, unit: str = "chunks", enabled: bool = True):
        console = Console(stderr=True)
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
        if self._lines and total and 10 * (done - n) // total < 10 * done // total:
            self._bar.console.print(
                f"{task.description}: {done:,}/{total:,} {self._unit} "
                f"({100 * done // total}%) {rate}".rstrip(),
                highlight=False,
            )

    def __enter__(self) -> Progress:
        self._bar.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()
