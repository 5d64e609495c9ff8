"""Route a script's logging to its rule's log file and stderr."""

from __future__ import annotations

import logging
import sys


def setup_logging(log_path: str | None = None, name: str = "sonata") -> logging.Logger:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logger = logging.getLogger(name)

    def log_uncaught(kind, error, trace):
        # the rule's log must say why the job failed, not only the terminal
        logger.error("%s: %s", kind.__name__, error, exc_info=(kind, error, trace))

    sys.excepthook = log_uncaught
    return logger
