"""The rich consoles every subcommand prints through.

On a terminal: rich's usual console (wrapping at the terminal width, optionally at least
``min_width`` wide). Anywhere else (a pipe, a file, a CI log): no wrapping at all, so that paths, ids
and config names stay whole on one line and can be grepped or copied; tables are as wide as their
content.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

#: Columns a console writing to a pipe pretends to have: wide enough that nothing wraps.
PIPE_WIDTH = 1_000_000


def make_console(*, stderr: bool = False, min_width: int | None = None) -> Console:
    """A console for stdout (or ``stderr``), never wrapping when it is not a terminal."""
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        return Console(stderr=stderr, width=PIPE_WIDTH, soft_wrap=True)
    if min_width is not None and console.width < min_width:
        return Console(stderr=stderr, width=min_width)
    return console
