"""Cluster profiles: the slurm profile on a real single-node SLURM cluster; conda envs vs pins."""

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest
import yaml

from tests.support import REPO, snakemake, tiny_config, write_config

SLURM_LOCAL = REPO.parent / "shared" / "tools" / "slurm_local.sh"
PLUGIN_DIR = REPO / ".venv" / "slurm-plugin"


def pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        match = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)", line)
        if match:
            out[match.group(1).lower().split("[")[0]] = match.group(2)
    return out


def test_conda_envs_pin_the_same_versions_as_requirements():
    required = pins((REPO / "requirements.txt").read_text().splitlines())
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert {e.stem for e in envs} >= {"corpus", "audio", "tensorflow"}
    used = set()
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        for name, version in pins(pip).items():
            assert required.get(name) == version, (
                f"{env.name}: {name}=={version}, requirements.txt has {required.get(name)}"
            )
        used.add(env.name)
    rules = "".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    assert {f"envs/{u}" for u in used} == set(re.findall(r'"\.\./(envs/[\w.]+)"', rules))


def planned_resources(workdir) -> dict[str, set[str]]:
    """rule -> the `resources:` lines of its jobs in a dry run of the main target."""
    out = snakemake(workdir, "--dry-run", "--cores", "2", "results/samples").stdout
    found: dict[str, set[str]] = {}
    for block in re.split(r"\n\s*\n", out):
        rule = re.search(r"^(?:local)?rule (\w+):", block, flags=re.M)
        resources = re.search(r"^\s*resources: (.*)$", block, flags=re.M)
        if rule and resources:
            found.setdefault(rule.group(1), set()).add(resources.group(1))
    return found


TRAINING_RULES = {"train_model", "train_composer", "train_performer"}


def test_training_gpus_reach_exactly_the_training_jobs_as_a_gpu_resource(tmp_path):
    cfg = tiny_config()
    for gpus in (1, 0):
        cfg["training"]["gpus"] = gpus
        write_config(tmp_path, cfg)
        planned = planned_resources(tmp_path)
        assert {"train_model", "make_shards", "generate_samples"} <= set(planned)
        for rule, lines in planned.items():
            asks = {bool(re.search(r"\bgpu=1\b", line)) for line in lines}
            assert asks == {gpus == 1 and rule in TRAINING_RULES}, (rule, lines)
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert "slurm_extra" not in str(profile)  # GPUs go through the gpu resource, nothing else


@pytest.fixture(scope="module")
def slurm_cluster():
    if not SLURM_LOCAL.exists():
        pytest.skip(f"{SLURM_LOCAL} not found (the shared tools folder sits beside the checkout)")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("starting a local SLURM cluster needs root and apt-get")
    if not (PLUGIN_DIR / "snakemake_executor_plugin_slurm").is_dir():
        pytest.skip("slurm plugin not installed: make test installs it into .venv/slurm-plugin")
    subprocess.run(["bash", str(SLURM_LOCAL), "up"], check=True, capture_output=True)
    yield
    subprocess.run(["bash", str(SLURM_LOCAL), "down"], capture_output=True)


def plugin_pythonpath() -> str:
    """PYTHONPATH that lets snakemake find the slurm plugin kept out of the main venv."""
    return os.pathsep.join([str(PLUGIN_DIR), os.environ.get("PYTHONPATH", "")])


SLURM_FLAGS = (
    "--profile",
    str(REPO / "profiles" / "slurm"),
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
)


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, slurm_cluster):
    """The tiny workflow run through the slurm profile: (workdir, config, snakemake's output)."""
    workdir = tmp_path_factory.mktemp("slurm")
    cfg = tiny_config()
    cfg["datasets"] = {"piano": cfg["datasets"]["piano"]}
    # only the pieces the piano dataset selects: fewer jobs, each paying SLURM's start-up
    cfg["corpus"]["embedded"]["pieces"] = [
        p for p in cfg["corpus"]["embedded"]["pieces"] if p["ensemble"] == "Solo Piano"
    ]
    cfg["notes"]["held_out_passages"] = 1
    cfg["models"] = {"seq2seq": cfg["models"]["seq2seq"]}
    cfg["generation"]["durations"] = [1]
    write_config(workdir, cfg)
    # the corpus and the shards locally first: every job through SLURM waits on the plugin's
    # status checks (10 s longer after each one that finds nothing finished), and these are five
    # levels of short jobs; the models, the pieces and the report go through SLURM
    upstream = ("make_shards", "make_note_shards", "describe_dataset")
    snakemake(workdir, "--cores", "2", "results/samples", "--until", *upstream)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", plugin_pythonpath())
        result = snakemake(workdir, *SLURM_FLAGS, "results/samples")
    return workdir, cfg, result.stdout + result.stderr


@pytest.mark.slow
def test_tiny_workflow_runs_to_completion_through_the_slurm_profile(slurm_run):
    workdir, _, out = slurm_run
    assert "submitted with SLURM jobid" in out
    index = pd.read_csv(workdir / "results" / "samples" / "index.csv")
    raw = index[index["notes"].isna()]  # the notes route's pieces come beside the raw model's
    assert (
        list(raw["model"]) == ["seq2seq"]
        and (workdir / "results" / "samples" / raw["file"].iloc[0]).is_file()
    )
    assert "composer + performer" in set(index["model"])
    submitted = set(re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", out))
    assert len(submitted) >= 8  # every job went through sbatch, none ran locally
    assert "localrule" not in out


@pytest.mark.slow
def test_training_gpus_become_an_sbatch_gpu_request(slurm_run, monkeypatch):
    """This cluster has no GPU, so SLURM itself refuses the request: proof that it was made."""
    workdir, cfg, _ = slurm_run
    cfg = dict(cfg, training=dict(cfg["training"], gpus=1))
    write_config(workdir, cfg)
    monkeypatch.setenv("PYTHONPATH", plugin_pythonpath())
    target = "results/models/piano/seq2seq/model.json"
    # the target before --forcerun, which takes several values and would swallow it
    result = snakemake(workdir, *SLURM_FLAGS, target, "--forcerun", "train_model", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    calls = re.findall(r"sbatch call:\s*\n\s*(sbatch .*)", out)
    assert len(calls) == 1 and "--gpus=1" in calls[0] and "train_model" in calls[0], out[-3000:]
    assert "Invalid generic resource" in out
