"""What a dataset's models learn from: minutes per composer x ensemble x split (with how well the
transcriber heard the recordings it labelled, where it labelled any), and its notes."""

import json

import pandas as pd

from sonata.audio import atomic_path
from sonata.labels import NOTE_COLUMNS, read_labels

SPLITS = ["train", "validation", "test"]
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def note_name(midi: int) -> str:
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def minutes_table(manifest: pd.DataFrame, transcribed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Minutes of audio, recordings and movements per composer, ensemble and split; with
    `transcribed` (rule transcribe_labels' records: id, onset_f1, frame_f1), how many were
    labelled by transcription and its mean onset and frame F1 against the corpus's own labels."""
    columns = {
        "recordings": ("id", "count"),
        "movements": ("group", "nunique"),
        "minutes": ("seconds", "sum"),
    }
    if transcribed is not None and len(transcribed):
        manifest = manifest.merge(transcribed, on="id", how="left")
        columns |= {"transcribed": ("notes_heard", "count")}
        columns |= {name: (name, "mean") for name in ("onset_f1", "frame_f1") if name in manifest}
    table = manifest.groupby(["composer", "ensemble", "split"]).agg(**columns).reset_index()
    table["minutes"] = table["minutes"] / 60
    table["split"] = pd.Categorical(table["split"], SPLITS, ordered=True)
    return table.sort_values(["split", "composer", "ensemble"]).reset_index(drop=True)


def notes_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """Per split and overall: notes per second of audio and the pitch range, from the label CSVs."""
    frames = []
    for row in manifest.itertuples(index=False):
        if row.labels:
            frames.append(read_labels(row.labels).assign(split=row.split, recording=row.id))
    notes = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*NOTE_COLUMNS, "split"])
    rows = []
    for split in [*SPLITS, "all"]:
        chosen = manifest if split == "all" else manifest[manifest["split"] == split]
        labelled = chosen[chosen["labels"] != ""]
        these = notes if split == "all" else notes[notes["split"] == split]
        seconds = float(labelled["seconds"].sum())
        rows.append(
            {
                "split": split,
                "recordings": len(chosen),
                "with_labels": len(labelled),
                "notes": len(these),
                "notes_per_second": len(these) / seconds if seconds else float("nan"),
                "lowest": note_name(int(these["pitch"].min())) if len(these) else "n/a",
                "highest": note_name(int(these["pitch"].max())) if len(these) else "n/a",
                "instruments": " ".join(str(i) for i in sorted(these["program"].unique())),
            }
        )
    return pd.DataFrame(rows)


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    log = setup_logging(snakemake.log[0])
    manifest = pd.read_parquet(snakemake.input.manifest)
    manifest["labels"] = manifest["labels"].fillna("")
    records = [json.loads(open(path).read()) for path in snakemake.input.transcribed]
    transcribed = pd.DataFrame(records).rename(columns={"notes": "notes_heard"}) if records else None
    if transcribed is not None:
        transcribed = transcribed.drop(columns=["seconds", "cpu_seconds"], errors="ignore")
    minutes, notes = minutes_table(manifest, transcribed), notes_table(manifest)
    with atomic_path(snakemake.output.minutes, suffix=".csv") as tmp:
        minutes.to_csv(tmp, index=False)
    with atomic_path(snakemake.output.notes, suffix=".csv") as tmp:
        notes.to_csv(tmp, index=False)
    log.info("minutes:\n%s\nnotes:\n%s", minutes.round(1).to_string(), notes.round(2).to_string())


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
