"""Jobs off the critical path lower their CPU priority: every thread, before and after the call."""

import os
import re
import subprocess
import sys
import textwrap

from tests.support import REPO, snakemake, tiny_config, write_config

# the raw-audio baselines: they run beside train_performer and feed neither it nor its pieces
BACKGROUND_RULES = {
    "train_model",
    "evaluate_model",
    "generate_samples",
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

    def started(key):
        thread = threading.Thread(target=worker, args=(key,), daemon=True)
        thread.start()
        while key not in seen:
            pass

    started("early")  # as TensorFlow's pools, started at import
    got = lower_cpu_priority(int(sys.argv[1]))
    started("late")
    again = lower_cpu_priority(0)  # asking for less never raises the priority back
    print(got, again, *(os.getpriority(os.PRIO_PROCESS, seen[k]) for k in ("early", "late")),
          os.getpriority(os.PRIO_PROCESS, 0))
    release.set()
    """
)


def _probe(niceness: int, start_under: int = 0) -> list[int]:
    """[returned, returned for 0, early thread, late thread, main thread] nice values."""
    command = [sys.executable, "-c", PROBE, str(niceness)]
    if start_under:
        command = ["nice", "-n", str(start_under), *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    return [int(v) for v in out.split()]


START = os.getpriority(os.PRIO_PROCESS, 0)  # the suite may itself run under nice


def test_every_thread_of_the_process_runs_at_the_niceness_asked():
    want = max(START, 7)
    assert _probe(7) == [want] * 5


def test_a_process_already_nicer_keeps_its_own_value():
    start = min(19, START + 12)
    assert _probe(7, start_under=12) == [start] * 5


def test_zero_leaves_the_priority_alone():
    assert _probe(0) == [START] * 5


def _plan(result) -> dict[str, dict[str, set[str]]]:
    """Each planned rule's `nice` resource ('' if none) and `threads` in a dry run's job table."""
    found: dict[str, dict[str, set[str]]] = {}
    rule = None
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
            found.setdefault(rule, {"nice": set(), "threads": set()})
        elif line.strip().startswith("resources:") and rule:
            values = re.findall(r"\bnice=(\d+)", line)
            found[rule]["nice"].add(values[0] if values else "")
        elif line.strip().startswith("threads:") and rule:
            found[rule]["threads"].add(line.split(":")[1].strip())
    for job in found.values():
        job["threads"] = job["threads"] or {"1"}  # Snakemake prints no threads line for one
    return found


def test_the_performer_keeps_its_priority_and_the_baselines_yield(tmp_path):
    cfg = tiny_config()
    write_config(tmp_path, cfg)
    plan = _plan(snakemake(tmp_path, "-n", "--cores", "8", "results/samples"))
    assert {r for r, job in plan.items() if job["nice"] == {"19"}} == BACKGROUND_RULES, plan
    # the critical path, what feeds its pieces and what waits for it keep their priority
    for rule in ("train_performer", "train_composer", "compose_notes", "perform_notes", "compute_metrics"):
        assert plan[rule]["nice"] == {""}, plan
    for rule in BACKGROUND_RULES:
        assert plan[rule]["threads"] == {"1"}, plan
    assert plan["train_performer"]["threads"] == plan["train_composer"]["threads"] == {"2"}, plan

    cfg["scheduling"].update(background_niceness=0, background_threads=2)
    write_config(tmp_path, cfg)
    plan = _plan(snakemake(tmp_path, "-n", "--cores", "8", "results/samples"))
    assert {r for r, job in plan.items() if job["nice"] == {"0"}} == BACKGROUND_RULES, plan
    assert plan["train_model"]["threads"] == plan["generate_samples"]["threads"] == {"2"}, plan


def _rule_blocks() -> dict[str, str]:
    rules = "\n".join(p.read_text() for p in sorted((REPO / "rules").glob("*.smk")))
    blocks = re.split(r"^rule ", rules, flags=re.MULTILINE)[1:]
    return {block.split(":", 1)[0]: block for block in blocks}


def test_the_critical_path_starts_first_when_its_inputs_are_ready():
    """Among ready jobs Snakemake starts the higher priority first: without it the baselines'
    generation took the free slots when the performer finished and its pieces waited."""
    blocks = _rule_blocks()
    for name in ("train_performer", "perform_notes"):
        assert re.search(r"^\s+priority: [1-9]", blocks[name], re.MULTILINE), name
    assert not any("priority:" in blocks[name] for name in BACKGROUND_RULES)


def test_each_rule_that_declares_a_niceness_has_its_script_apply_it():
    """main() is not covered by the unit tests: a rule could declare `nice` that its script ignores."""
    declared = {}
    for name, block in _rule_blocks().items():
        script = re.search(r'script:\s*"\.\./(workflow_scripts/\w+\.py)"', block)
        if "nice=BACKGROUND_NICENESS" in block:
            declared[name] = script.group(1)
    assert set(declared) == BACKGROUND_RULES
    for name, script in declared.items():
        assert "lower_cpu_priority(snakemake.resources.nice)" in (REPO / script).read_text(), name
