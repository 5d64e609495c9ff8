"""Every composer's held-out negative log-likelihood in bits per note, on one run's notes.

    python -m benchmarks.composer_bits RESULTS [--config config.yaml] [--threads 2]

The run trains one composer per dataset (`notes.composer.architecture`); this trains every other
composer of the registry the way the run would (its training settings and schedule from the
config, the run's training and validation notes shards, the run's seed), then scores each on
the run's test notes shard with `Composer.heldout_bits`: the bits each spends on the held-out
recordings as it composes them, over their notes, so that composers whose tokens differ compare
(issue 47: the default composer's figure against the report's Seq2Seq's). Prints a Markdown
table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pandas as pd  # noqa: E402


def composer_rows(results: Path, config: dict, dataset: str, threads: int) -> list[dict]:
    """One row per composer: the run's own as trained, every other one trained here."""
    from models.notes.composers import COMPOSERS, heldout_bits
    from models.training import TrainingConfig, TrainingOutputs
    from sonata.config import note_model_training
    from sonata.records import ModelCard

    section = config["notes"]["composer"]
    frame_seconds = float(config["notes"]["frame_seconds"])
    shards = {
        s: str(results / "shards" / dataset / "notes" / f"{s}.h5") for s in ("train", "validation", "test")
    }
    run = results / "notes" / dataset / "composer"
    card = ModelCard.from_json(run / "model.json")
    rows = [
        {
            "dataset": dataset,
            "composer": COMPOSERS.of_card(card.architecture, "").name + " (the run's)",
            **heldout_bits(
                str(run / "model.json"), str(run / "model.weights.h5"), frame_seconds, shards["test"]
            ),
            "training_s": card.train_seconds_last_session,
        }
    ]
    for name, adapter in COMPOSERS.items():
        if adapter.card_name == card.architecture:
            continue
        chosen = {**section, "architecture": name}
        training = note_model_training(config, COMPOSERS.training_schedule(chosen))
        training = TrainingConfig.from_config({**training, "threads": threads})
        with tempfile.TemporaryDirectory() as tmp:
            out = TrainingOutputs(
                *(f"{tmp}/{n}" for n in ("model.weights.h5", "model.json", "history.csv", "work"))
            )
            start = time.perf_counter()
            adapter.train(
                COMPOSERS.training_settings(chosen),
                frame_seconds,
                training,
                shards["train"],
                shards["validation"],
                int(config["seed"]),
                out,
            )
            seconds = time.perf_counter() - start
            bits = heldout_bits(out.card, out.weights, frame_seconds, shards["test"])
        rows.append({"dataset": dataset, "composer": name, **bits, "training_s": seconds})
    return rows


def main(argv: list[str] | None = None) -> None:
    from sonata.config import read_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a finished run's results/ folder")
    parser.add_argument("--config", default="config.yaml", help="the config the run used")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads while training")
    args = parser.parse_args(argv)
    config = read_config(args.config)
    rows = [
        row
        for dataset in config["datasets"]
        for row in composer_rows(args.results, config, dataset, args.threads)
    ]
    table = pd.DataFrame(rows)[["dataset", "composer", "bits_per_note", "notes", "training_s"]]
    print("| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns))
    for row in table.itertuples(index=False):
        cells = (row.dataset, row.composer, f"{row.bits_per_note:.2f}", row.notes, f"{row.training_s:.0f}")
        print("| " + " | ".join(map(str, cells)) + " |")


if __name__ == "__main__":
    main()
