"""CPU priority of a rule's process, so the run's critical path keeps its cores.

Snakemake's `priority:` only decides which job starts first. Once the raw-audio baselines and
the composers train beside the performer (the run's longest job), the kernel shares the cores
among them equally and the performer slows to a third of its pace. Jobs off that path lower
their own priority and take the cycles the performer leaves idle instead: it uses about 1.2 of
2 cores alone.
"""

from __future__ import annotations

import os
from pathlib import Path


def lower_cpu_priority(niceness: int) -> int:
    """Run this process at `niceness` (0-19) or lower priority; return the niceness it now has.

    On Linux a nice value belongs to each thread, and TensorFlow and numba start theirs at
    import: every thread present is lowered, and threads started later inherit it. Never raises
    a priority (that needs privileges): a run started under `nice` keeps its own value if it
    is lower still.
    """
    current = os.getpriority(os.PRIO_PROCESS, 0)
    target = max(current, int(niceness))
    if target == current:
        return current
    tasks = Path("/proc/self/task")
    if tasks.is_dir():
        for tid in tasks.iterdir():
            try:
                os.setpriority(os.PRIO_PROCESS, int(tid.name), target)
            except ProcessLookupError:  # a thread that ended meanwhile
                pass
    else:
        os.nice(target - current)
    return os.getpriority(os.PRIO_PROCESS, 0)
