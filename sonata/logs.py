"""Route a script's output: details to its rule's log, progress and problems to the terminal.

TensorFlow's C++ start-up warnings, absl, Python warnings and ffmpeg banners are written to the
process's stderr (file descriptor 2); pointing that descriptor at the rule's log keeps them
there, where a failed job's cause is looked for. The terminal, shared by every job Snakemake
runs at once, gets only what a user watching a run acts on or waits for: warnings and errors,
progress bars, and the few INFO lines marked as progress (`log.info(..., extra=PROGRESS)`), each
named by its job. Everything else (tables, per-file facts) is in the rule's log.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from pathlib import Path

PROGRESS = {"progress": True}
"""`extra=` for an INFO line the terminal shows too: a long job's sign of life, a result's path."""

_terminal: io.TextIOBase | None = None
_job = ""


def terminal() -> io.TextIOBase:
    """The terminal's stderr as it was before setup_logging moved fd 2 to the log (progress bars)."""
    return _terminal or sys.stderr


def current_job() -> str:
    """This job's name as its terminal lines show it ("" outside a rule): a progress bar's label."""
    return _job


def _for_terminal(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or getattr(record, "progress", False)


def job_name(log_path: str) -> str:
    """logs/train_model/piano_wavenet.log -> train_model/piano_wavenet: which job a terminal line is from."""
    parts = Path(log_path).with_suffix("").parts
    return "/".join(parts[1:] if len(parts) > 1 and parts[0] == "logs" else parts[-2:])


def setup_logging(log_path: str | None = None, name: str = "sonata") -> logging.Logger:
    """Without log_path (a script run by hand), every INFO line goes to stderr as before."""
    global _terminal, _job
    if log_path and _terminal is None:
        sys.stderr.flush()
        _terminal = os.fdopen(os.dup(2), "w", buffering=1)
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log_fd, 2)  # everything written to stderr from now on, native code included
        os.close(log_fd)
    details = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    to_terminal = logging.StreamHandler(terminal())
    handlers: list[logging.Handler] = [to_terminal]
    if log_path:
        _job = job_name(log_path)
        to_terminal.addFilter(_for_terminal)
        named = _job.replace("%", "%%")  # a literal in the format string
        terminal_format = f"%(asctime)s [{named}] %(levelname)s: %(message)s"
        to_terminal.setFormatter(logging.Formatter(terminal_format, "%H:%M:%S"))
        to_log = logging.StreamHandler(sys.stderr)  # fd 2: the log file
        to_log.setFormatter(logging.Formatter(details))
        handlers.append(to_log)
    else:
        to_terminal.setFormatter(logging.Formatter(details))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True)
    logger = logging.getLogger(name)

    def log_uncaught(kind, error, trace):
        # the rule's log must say why the job failed, and so must the terminal
        logger.error("%s: %s", kind.__name__, error, exc_info=(kind, error, trace))

    sys.excepthook = log_uncaught
    return logger
