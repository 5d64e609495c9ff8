"""Judge generated pieces against held-out real audio, with silence, noise and real baselines."""

import json
import logging
from pathlib import Path

import pandas as pd

from sonata.audio import atomic_path
from sonata.labels import labels_table
from sonata.metrics import compute, end_to_end, held_out_stretches, note_metrics
from sonata.shards import read_notes_shard

log = logging.getLogger("sonata.metrics")


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    table = compute(
        pd.read_parquet(snakemake.input.manifest),
        snakemake.params.pieces,
        snakemake.params.metrics,
        snakemake.params.seed,
        pd.read_parquet(snakemake.input.heard) if snakemake.input.heard else None,
    )
    table.insert(0, "dataset", snakemake.wildcards.dataset)
    with atomic_path(snakemake.output.audio, suffix=".parquet") as tmp:
        table.to_parquet(tmp, index=False)
    log.info("\n%s", table.drop(columns=["file", "notes"], errors="ignore").to_string(index=False))
    _, tables = read_notes_shard(snakemake.input.test_notes)
    held_out = end_to_end(tables)
    composer_bits = json.loads(Path(snakemake.input.composition).read_text()).get("heldout_bits_per_note")
    notes = note_metrics(snakemake.params.pieces, held_out, snakemake.params.seed, composer_bits)
    notes.insert(0, "dataset", snakemake.wildcards.dataset)
    with atomic_path(snakemake.output.notes, suffix=".parquet") as tmp:
        notes.to_parquet(tmp, index=False)
    log.info("\n%s", notes.to_string(index=False))
    longest = max((p["seconds"] for p in snakemake.params.pieces if "notes" in p), default=0.0)
    with atomic_path(snakemake.output.held_out_notes, suffix=".csv") as tmp:  # drawn beside a piece
        labels_table(held_out_stretches(held_out, longest, most=1)[0] if longest else held_out[:0]).to_csv(
            tmp, index=False
        )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
