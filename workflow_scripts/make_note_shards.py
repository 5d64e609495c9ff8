"""A dataset's notes per split: its recordings' label CSVs as note shards beside the audio shards."""

import logging

import pandas as pd

from sonata import SonataError
from sonata.labels import read_labels
from sonata.shards import NotesHeader, write_notes_shard

log = logging.getLogger("sonata.notes")
SPLITS = ("train", "validation", "test")


def note_shards(manifest: pd.DataFrame, dataset: str, outputs: dict[str, str]) -> dict[str, int]:
    """Write one notes shard per split; returns notes per split."""
    unlabelled = manifest[manifest["labels"].fillna("") == ""]
    if len(unlabelled):
        raise SonataError(
            f"dataset {dataset!r}: recording(s) {sorted(unlabelled['id'].tolist())} have no label CSV, "
            "and the notes route learns from labels; add their <id>.csv under *_labels/, set "
            "corpus.on_missing_labels: transcribe to label them by transcription, or leave "
            f"them out of datasets.{dataset} (composers, ensembles or instruments)"
        )
    counts = {}
    tables_of = {row.id: read_labels(row.labels) for row in manifest.itertuples(index=False)}
    empty = sorted(rid for rid, table in tables_of.items() if table.empty)
    if empty:  # a transcription that heard nothing, with transcription.on_no_notes: skip
        log.warning(
            "dataset %r: recording(s) %s have no notes in their labels: left out of its notes", dataset, empty
        )
    for split in SPLITS:
        rows = manifest[(manifest["split"] == split) & ~manifest["id"].isin(empty)].sort_values("id")
        tables = [tables_of[rid] for rid in rows["id"]]
        header = NotesHeader(
            dataset=dataset,
            split=split,
            source_ids=tuple(int(i) for i in rows["id"]),
            composers=tuple(rows["composer"]),
            ensembles=tuple(rows["ensemble"]),
            wavs=tuple(rows["wav"]),
            movements=tuple(rows["group"]),
        )
        write_notes_shard(outputs[split], header, tables)
        counts[split] = sum(len(t) for t in tables)
    return counts


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    counts = note_shards(
        pd.read_parquet(snakemake.input.manifest),
        snakemake.wildcards.dataset,
        {split: getattr(snakemake.output, split) for split in SPLITS},
    )
    log.info("notes per split: %s", counts)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
