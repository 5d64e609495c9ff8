"""The real snakemake on a tiny config: the main target, reruns, parse-time errors, lint."""

import re
import subprocess
import sys

import pandas as pd
import pytest
import soundfile as sf

from tests.conftest import REPO, snakemake, tiny_config, write_config


def planned_rules(result) -> set[str]:
    """Rule names in a dry run's job table."""
    table = result.stdout.split("Job stats:")[-1]
    return set(re.findall(r"^(\w+)\s+\d+\s*$", table, flags=re.M)) - {"total"}


@pytest.mark.slow
def test_main_target_builds_listenable_results_then_rebuilds_only_what_changed(tmp_path):
    cfg = tiny_config()
    write_config(tmp_path, cfg)
    snakemake(tmp_path, "--cores", "2", "results/samples")

    samples = tmp_path / "results" / "samples"
    index = pd.read_csv(samples / "index.csv")
    assert len(index) == len(cfg["datasets"]) * len(cfg["models"]) * len(cfg["generation"]["durations"])
    for row in index.itertuples():
        info = sf.info(str(samples / row.file))
        assert info.samplerate == cfg["audio"]["sample_rate"] and info.channels == 1
        assert abs(info.duration - row.seconds) < 0.01
        assert row.prime_id in {p["id"] for p in cfg["corpus"]["embedded"]["pieces"]}
    metrics = pd.read_csv(samples / "metrics.csv")
    assert {"silence", "noise", "real (validation audio)"} <= set(metrics["model"])
    assert metrics.loc[metrics["model"] == "silence", "silent_fraction"].eq(1.0).all()
    evaluation = pd.read_csv(samples / "evaluation.csv")
    assert {"mse", "nll_bits_per_sample"} <= set(evaluation["metric"])
    page = (samples / "report.html").read_text()
    assert "http://" not in page and "https://" not in page  # loads offline
    for src in re.findall(r'(?:src)="([^"]+)"', page):
        assert (samples / src).is_file(), src
    assert page.count("<audio") == len(index)
    # the embedded corpus is in MusicNet's layout
    corpus = tmp_path / "results" / "corpus"
    meta = pd.read_csv(corpus / "musicnet_metadata.csv")
    assert list(meta.columns) == [
        "id",
        "composer",
        "composition",
        "movement",
        "ensemble",
        "source",
        "transcriber",
        "catalog_name",
        "seconds",
    ]
    assert (corpus / "train_data" / "9001.mp3").is_file() and (corpus / "train_labels" / "9001.csv").is_file()
    for rule in ("render_piece", "convert_audio", "make_shards", "train_model", "generate_samples"):
        assert any((tmp_path / "logs" / rule).iterdir()), f"no log for {rule}"

    again = snakemake(tmp_path, "--cores", "2", "results/samples")
    assert "Nothing to be done" in again.stdout + again.stderr

    cfg["datasets"]["beethoven"]["composers"] = ["Beethoven", "Mozart"]
    write_config(tmp_path, cfg)
    plan = planned_rules(snakemake(tmp_path, "-n", "results/samples"))
    assert {"select_dataset", "make_shards", "train_model"} <= plan
    assert "convert_audio" not in plan and "render_piece" not in plan


def test_config_that_fails_the_schema_is_refused_naming_the_key(tmp_path):
    cfg = tiny_config()
    cfg["audio"]["sample_rate"] = "fast"
    write_config(tmp_path, cfg)
    result = snakemake(tmp_path, "-n", "results/samples", check=False)
    assert result.returncode != 0
    assert "sample_rate" in result.stdout + result.stderr and "fast" in result.stdout + result.stderr


def test_unknown_composer_is_refused_with_the_composers_that_exist(tmp_path):
    cfg = tiny_config()
    cfg["datasets"]["piano"]["composers"] = ["Motzart"]
    write_config(tmp_path, cfg)
    result = snakemake(tmp_path, "-n", "results/samples", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Motzart" in out and "'Mozart'" in out and "datasets.piano" in out


def test_workflow_passes_snakemake_lint_snakefmt_and_ruff(tmp_path):
    write_config(tmp_path, tiny_config())
    lint = snakemake(tmp_path, "--lint", check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    for command in (
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules"],
        [sys.executable, "-m", "ruff", "check", "."],
    ):
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
