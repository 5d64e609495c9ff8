"""The paper-size training benchmark: its preset merge and one real step of each note model."""

import yaml

from benchmarks.paper_training import paper_config, step_rows
from tests.conftest import REPO, tiny_config


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
    step_rows(2, 1, tiny_config(), names=["composer", "performer"], report=rows.append)
    assert [(r["model"], r["policy"]) for r in rows] == [("composer", "float32"), ("performer", "float32")]
    for row in rows:
        assert row["s/step"] > 0 and row["predicted per s"] > 0 and row["parameters"] > 0
        assert row["vs float32"] == 1.0
    assert rows[0]["unit"] == "tokens" and rows[1]["unit"] == "samples"
