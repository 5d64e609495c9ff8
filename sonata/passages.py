"""Passages of note tables: the held-out passages the run performs and the passages a
performer's listening test plays, each spread through its recording."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sonata.labels import LABEL_RATE
from sonata.shards import read_notes_shard


def excerpt(notes: pd.DataFrame, start: float, seconds: float) -> pd.DataFrame:
    """The notes sounding in [start, start + seconds), moved to begin at 0 and cut to fit. A note
    left with under one label sample (1 / 44,100 s) inside is dropped: as labels it would end
    where it starts, which MusicNet's format (and read_labels) refuses."""
    passage = notes[(notes["offset"] > start) & (notes["onset"] < start + seconds)].copy()
    passage["onset"] = (passage["onset"] - start).clip(lower=0.0)
    passage["offset"] = (passage["offset"] - start).clip(upper=seconds)
    kept = np.rint(passage["offset"] * LABEL_RATE) > np.rint(passage["onset"] * LABEL_RATE)
    return passage[kept].reset_index(drop=True)


def passage_start(notes: pd.DataFrame, seconds: float, where: float = 1 / 3) -> float:
    """Where a passage of `seconds` begins `where` of the way into a recording's notes (earlier
    when the recording is too short to hold it there)."""
    end = float(notes["offset"].max())
    return max(0.0, min(end * where, end - seconds))


def spread_passages(tables: list[pd.DataFrame], count: int, seconds: float) -> list[tuple[int, float]]:
    """(recording index, start) of `count` passages of `seconds`: the recordings taken in turn,
    each one's passages spread evenly through it (with r rounds over the recordings, round j
    starts j / (r + 1) of the way in: halfway for one round, a third and two thirds for two, ...),
    so that a mean over them is not one moment's luck."""
    rounds = -(-count // len(tables)) if count else 0
    places = []
    for i in range(count):
        k, turn = i % len(tables), i // len(tables)
        places.append((k, passage_start(tables[k], seconds, (turn + 1) / (rounds + 1))))
    return places


def held_out_passages(test_path: str, seconds: float, count: int) -> list[tuple[dict, pd.DataFrame]]:
    """`count` passages of the test recordings' notes, `seconds` long and shifted to 0: the
    recordings in turn, each one's passages spread through it (see spread_passages)."""
    header, tables = read_notes_shard(test_path)
    chosen = []
    for k, start in spread_passages(tables, count, seconds):
        where = {
            "id": header.source_ids[k],
            "wav": header.wavs[k],
            "start": start,
            "composer": header.composers[k],
            "ensemble": header.ensembles[k],
        }
        chosen.append((where, excerpt(tables[k], start, seconds)))
    return chosen
