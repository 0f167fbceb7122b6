"""A terminal progress bar for long jobs (model conversion, ingestion, evaluation)."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


class Bar:
    """``bar(message, fraction)``; redraws in place on a terminal, prints sparse lines otherwise."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 28) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self.last_line = 0.0
        self.start = time.monotonic()

    def __call__(self, message: str, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        filled = int(fraction * self.width)
        line = (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} "
                f"{time.monotonic() - self.start:5.1f}s {message}")
        if self.tty:
            # Redrawn in place, so it must fit on one terminal line: a long message ends in "…".
            columns = shutil.get_terminal_size().columns - 1
            if len(line) > columns:
                line = line[:max(columns - 1, 0)] + "…"
            self.stream.write("\r\x1b[2K" + line + ("\n" if fraction >= 1.0 else ""))
            self.stream.flush()
        elif fraction >= 1.0 or time.monotonic() - self.last_line > 2.0:
            self.stream.write(line + "\n")
            self.last_line = time.monotonic()
