"""Route a script's output: library noise to its rule's log, our messages and progress to both.

TensorFlow's C++ start-up warnings, absl, Python warnings and ffmpeg banners are written to the
process's stderr (file descriptor 2); pointing that descriptor at the rule's log keeps them
there, where a failed job's cause is looked for, and keeps the terminal to Snakemake's
progress, the progress bars and sonata's own messages.
"""

from __future__ import annotations

import io
import logging
import os
import sys

_terminal: io.TextIOBase | None = None


def terminal() -> io.TextIOBase:
    """The terminal's stderr as it was before setup_logging moved fd 2 to the log (progress bars)."""
    return _terminal or sys.stderr


def setup_logging(log_path: str | None = None, name: str = "sonata") -> logging.Logger:
    global _terminal
    if log_path and _terminal is None:
        sys.stderr.flush()
        _terminal = os.fdopen(os.dup(2), "w", buffering=1)
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log_fd, 2)  # everything written to stderr from now on, native code included
        os.close(log_fd)
    handlers: list[logging.Handler] = [logging.StreamHandler(terminal())]
    if log_path:
        handlers.append(logging.StreamHandler(sys.stderr))  # fd 2: the log file
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logger = logging.getLogger(name)

    def log_uncaught(kind, error, trace):
        # the rule's log must say why the job failed, and so must the terminal
        logger.error("%s: %s", kind.__name__, error, exc_info=(kind, error, trace))

    sys.excepthook = log_uncaught
    return logger
