"""Jobs off the critical path lower their CPU priority: every thread, before and after the call."""

import re
import subprocess
import sys
import textwrap

from tests.conftest import snakemake, tiny_config, write_config

# every job that runs beside train_performer and does not feed it
BACKGROUND_RULES = {
    "train_model",
    "evaluate_model",
    "generate_samples",
    "train_composer",
    "compose_notes",
    "compute_metrics",
}

PROBE = textwrap.dedent(
    """
    import os, sys, threading
    from sonata.scheduling import lower_cpu_priority

    release = threading.Event()
    seen = {}

    def worker(key):
        seen[key] = threading.get_native_id()
        release.wait()

    early = threading.Thread(target=worker, args=("early",))  # as TensorFlow's pools at import
    early.start()
    while "early" not in seen:
        pass
    got = lower_cpu_priority(int(sys.argv[1]))
    late = threading.Thread(target=worker, args=("late",))
    late.start()
    while "late" not in seen:
        pass
    again = lower_cpu_priority(0)  # asking for less never raises the priority back
    print(got, again, *(os.getpriority(os.PRIO_PROCESS, seen[k]) for k in ("early", "late")),
          os.getpriority(os.PRIO_PROCESS, 0))
    release.set()
    """
)


def _probe(niceness: int, start_under: int = 0) -> list[int]:
    command = [sys.executable, "-c", PROBE, str(niceness)]
    if start_under:
        command = ["nice", "-n", str(start_under), *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [int(v) for v in out.split()]


def test_every_thread_of_the_process_runs_at_the_niceness_asked():
    assert _probe(7) == [7, 7, 7, 7, 7]


def test_a_process_already_nicer_keeps_its_own_value():
    assert _probe(7, start_under=12) == [12, 12, 12, 12, 12]


def test_zero_leaves_the_priority_alone():
    assert _probe(0) == [0, 0, 0, 0, 0]


def _niceness_by_rule(result) -> dict[str, set[str]]:
    """Each planned rule's `nice` resource values in a dry run's job table ('' where none)."""
    found: dict[str, set[str]] = {}
    rule = None
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:") and rule:
            values = re.findall(r"\bnice=(\d+)", line)
            found.setdefault(rule, set()).add(values[0] if values else "")
    return found


def test_the_performer_keeps_its_priority_and_the_jobs_beside_it_yield(tmp_path):
    cfg = tiny_config()
    write_config(tmp_path, cfg)
    plan = _niceness_by_rule(snakemake(tmp_path, "-n", "--cores", "8", "results/samples"))
    background = {r for r, values in plan.items() if values == {"19"}}
    assert background == BACKGROUND_RULES, plan
    # the critical path and what runs before or after it keep the priority they started with
    assert plan["train_performer"] == {""} and plan["perform_notes"] == {""}, plan

    cfg["scheduling"]["background_niceness"] = 0
    write_config(tmp_path, cfg)
    plan = _niceness_by_rule(snakemake(tmp_path, "-n", "--cores", "8", "results/samples"))
    assert {r for r, values in plan.items() if values == {"0"}} == BACKGROUND_RULES, plan
