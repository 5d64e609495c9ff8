"""The benchmarks meant for a GPU machine: the paper-size training steps (the preset merge, one
real step of each note model) and the performer's playing against its training steps."""

import gzip
import pickle
import re

import pytest
import yaml

from benchmarks.paper_training import paper_config, step_rows, xla_step_rows
from tests.support import REPO, tiny_config


def test_paper_config_takes_the_presets_models_whole_and_merges_the_rest():
    preset = yaml.safe_load((REPO / "presets" / "paper.yaml").read_text())
    config = paper_config()
    assert config["models"] == preset["models"]  # replaced, as a user's models: section is
    performer = config["notes"]["performer"]
    assert performer["residual_channels"] == preset["notes"]["performer"]["residual_channels"]
    assert "probability_floor" in performer  # config.yaml's keys the preset leaves out stay
    assert config["training"]["mixed_precision"] is True


def test_step_rows_time_real_training_steps_of_the_note_models():
    rows = []
    policies = ("float32", "mixed_bfloat16")
    step_rows(2, 1, tiny_config(), names=["composer", "performer"], report=rows.append, policies=policies)
    assert [(r["model"], r["policy"]) for r in rows] == [
        (model, policy) for model in ("composer", "performer") for policy in policies
    ]
    for row in rows:
        assert row["s/step"] > 0 and row["predicted per s"] > 0 and row["parameters"] > 0
    for plain, mixed in (rows[0:2], rows[2:4]):  # each policy against its own model's float32 rate
        assert mixed["vs float32"] == pytest.approx(mixed["predicted per s"] / plain["predicted per s"])
    assert rows[0]["unit"] == "tokens" and rows[2]["unit"] == "samples"


def test_xla_step_rows_time_each_model_with_and_without_xla_against_the_same_baseline():
    rows = xla_step_rows(2, 1, tiny_config(), names=["wavenet", "performer"])
    # each trainer compiled as its row says, each model's pair against its own plain trainer
    assert [(r["model"], r["jit_compile"]) for r in rows] == [
        ("wavenet", False),
        ("wavenet", True),
        ("performer", False),
        ("performer", True),
    ]
    for plain, xla in (rows[0:2], rows[2:4]):  # each model's XLA step against its own plain step
        assert xla["vs plain"] == pytest.approx(plain["s/step"] / xla["s/step"])
    for row in rows:  # the first step traces (and compiles): the warm-up keeps it out of the rounds
        assert row["first step s"] > row["s/step"] > 0 and row["predicted per s"] > 0


def test_performer_steps_packs_a_run_then_scores_its_held_out_passages_at_each_checkpoint(tmp_path, capsys):
    from benchmarks.performer_steps import main, pack, run
    from tests.support import labelled_recordings
    from workflow_scripts.make_note_shards import note_shards

    cfg = tiny_config()
    cfg["datasets"] = {"d": next(iter(cfg["datasets"].values()))}
    cfg["notes"]["held_out_passages"] = 2
    # a tiny WaveNet performer at the preset's rate and learning rate
    cfg["notes"]["performer"].update(
        architecture="wavenet", checkpoint_passages=4, sample_rate=8000, learning_rate=0.002
    )
    folder = tmp_path / "results" / "shards" / "d" / "notes"
    folder.mkdir(parents=True)
    manifest = labelled_recordings(tmp_path, [1, 2, 3, 4, 5, 6, 7, 8])
    note_shards(manifest, "d", {s: str(folder / f"{s}.h5") for s in ("train", "validation", "test")})
    packed = str(tmp_path / "pack.gz")
    pack(str(tmp_path / "results"), packed, cfg)
    with gzip.open(packed, "rb") as f:
        data = pickle.load(f)
    assert [d for d, _, _ in data["held_out"]] == ["d", "d"] and len(data["listening"]) == 4
    assert len(data["recordings"]["train"]) == 4 and data["vocabulary"] == ["Solo Piano"]

    run(packed, steps=4, every=2, overrides=["residual_channels=4"], averages=(0.5,))
    out = capsys.readouterr().out
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [r[0].strip() for r in rows] == ["2", "2 (average 0.5)", "4", "4 (average 0.5)"]
    trained, average = rows[2], rows[3]  # the average of steps 1-4 is not the weights of step 4
    assert trained[3] != average[3]  # validation loss
    for row in rows:
        held_out_sf, held_out_tonal = float(row[5]), float(row[6])
        assert 0 <= held_out_sf <= 1 and 0 <= held_out_tonal <= 1
        assert row[7].strip().startswith("d ")  # per dataset
    run(packed, steps=4, every=2, overrides=["residual_channels=4"])  # judging averages leaves training be
    lines = capsys.readouterr().out.splitlines()
    alone = [line.split("|")[1:-1] for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert [row[2:] for row in alone] == [rows[0][2:], rows[2][2:]]
    assert rows[1][2].strip() == "-"  # an average has no training loss of its own
    with pytest.raises(SystemExit):  # argparse names the bad momentum
        main(["run", packed, "--average", "1.5"])
    run(packed, steps=1, every=1, overrides=[])
    assert _parameters(out) < _parameters(capsys.readouterr().out)  # the override took
    with pytest.raises(SystemExit, match="sample_rate"):  # the pack fixed it
        run(packed, steps=1, every=1, overrides=["sample_rate=4000"])
    with pytest.raises(SystemExit, match="notes/performer/pitch_guide"):  # a bad override is named
        run(packed, steps=1, every=1, overrides=["pitch_guide=maybe"])
    # the notes section's own settings too; transposition hears each training recording in more keys
    run(packed, steps=1, every=1, overrides=["transpose=1", "notes.onset_frames=4"])
    assert "12 training recordings" in capsys.readouterr().out  # 4 recordings x 3 keys
    with pytest.raises(SystemExit, match="notes/onset_frames"):
        run(packed, steps=1, every=1, overrides=["notes.onset_frames=0"])
    del data["config"]["notes"]["performer"]["level_db"]  # a pack from before the level channel
    with gzip.open(packed, "wb") as f:
        pickle.dump(data, f)
    with pytest.raises(SystemExit, match="(?s)level_db.*Pack it again"):
        run(packed, steps=1, every=1, overrides=[])


def _parameters(out: str) -> int:
    return int(re.search(r"([\d,]+) parameters", out).group(1).replace(",", ""))


def test_composer_sampling_finds_a_runs_wavs_in_its_results_folder_whatever_its_name():
    """The note shards name wavs from the run's directory ("results/wav/..."): a results folder
    moved or renamed must not read another run's audio."""
    from pathlib import Path

    from benchmarks.composer_sampling import in_results

    assert in_results("/runs/tuesday", "results/wav/9005.wav") == Path("/runs/tuesday/wav/9005.wav")
    assert in_results("old/results", "results/wav/9005.wav") == Path("old/results/wav/9005.wav")
    assert in_results("/runs/tuesday", "/data/wav/9005.wav") == Path("/data/wav/9005.wav")
