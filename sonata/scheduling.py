"""CPU priority of a rule's process, so the run's critical path keeps its cores.

Snakemake's `priority:` only decides which job starts first. Once the raw-audio baselines train
beside the performer (the run's longest job), the kernel shares the cores among them equally: a
performer step took 2.6 times as long beside two training jobs. The baselines lower their own
priority and take the cycles the performer leaves idle instead (it uses about 1.5 of 2 cores).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("sonata.scheduling")


def _lower(tid: int, niceness: int) -> None:
    """Raise one thread's nice value to `niceness`; a value already higher is kept."""
    if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
        os.setpriority(os.PRIO_PROCESS, tid, niceness)


def _lower_every_thread(niceness: int) -> None:
    """Each thread of the process on Linux (until no new one appears); the process elsewhere."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():  # macOS and the BSDs: one value for the whole process
        _lower(0, niceness)
        return
    done: set[int] = set()
    while todo := {int(t.name) for t in tasks.iterdir()} - done:
        for tid in todo:
            try:
                _lower(tid, niceness)
            except ProcessLookupError:  # a thread that ended meanwhile
                pass
        done |= todo


def lower_cpu_priority(niceness: int) -> int:
    """Run this process at nice `niceness` (0-19) or nicer; return the main thread's value.

    On Linux a nice value belongs to each thread, and TensorFlow starts its threads at import:
    every thread present is lowered, and threads started later inherit their creator's value.
    A thread already nicer keeps its value (lowering a nice value needs privileges). Where the
    system refuses, the job runs on at its priority with a warning: how a job shares the cores
    never changes what it computes.
    """
    if not hasattr(os, "getpriority"):  # Windows: no nice values
        return 0
    if int(niceness) > 0:
        try:
            _lower_every_thread(int(niceness))
        except OSError as error:
            log.warning("could not lower the CPU priority to nice %s (%s); running as is", niceness, error)
    return os.getpriority(os.PRIO_PROCESS, 0)
