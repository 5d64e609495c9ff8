"""Cluster profiles: the slurm profile on a real single-node SLURM cluster; conda envs vs pins."""

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, snakemake, tiny_config, write_config

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


def test_training_declares_gpu_resource_from_config():
    text = (REPO / "rules" / "train.smk").read_text()
    assert re.search(r"rule train_model:.*?resources:.*?gpu=GPUS", text, flags=re.S)
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert "slurm_extra" not in str(profile)


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


@pytest.mark.slow
def test_tiny_workflow_runs_to_completion_through_the_slurm_profile(tmp_path, slurm_cluster, monkeypatch):
    cfg = tiny_config()
    cfg["datasets"] = {"piano": cfg["datasets"]["piano"]}
    cfg["models"] = {"seq2seq": cfg["models"]["seq2seq"]}
    cfg["generation"]["durations"] = [1]
    write_config(tmp_path, cfg)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PLUGIN_DIR), os.environ.get("PYTHONPATH", "")]))
    result = snakemake(
        tmp_path,
        "--profile",
        str(REPO / "profiles" / "slurm"),
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--seconds-between-status-checks",
        "2",
        "results/samples",
    )
    out = result.stdout + result.stderr
    assert "submitted with SLURM jobid" in out
    index = pd.read_csv(tmp_path / "results" / "samples" / "index.csv")
    assert (
        list(index["model"]) == ["seq2seq"]
        and (tmp_path / "results" / "samples" / index["file"][0]).is_file()
    )
    submitted = set(re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", out))
    assert len(submitted) >= 8  # every job went through sbatch, none ran locally
    assert "localrule" not in out
