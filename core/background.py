"""Background tasks of a server process, stopped together at its end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


async def stop_all(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel the tasks and wait until each has ended."""
    running = list(tasks)
    for task in running:
        task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError):
            await task
