"""The corpus catalog: which recordings exist, where their audio is, and which a dataset selects.

Everything here runs at parse time, so that Snakemake decides the fan-out from the metadata
without checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sonata import SonataError

METADATA_COLUMNS = [
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
LABEL_COLUMNS = [
    "start_time",
    "end_time",
    "instrument",
    "note",
    "start_beat",
    "end_beat",
    "note_value",
]
AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg")
EMBEDDED_ROOT = "results/corpus"
SPLIT_FOLDERS = ("train", "test")


@dataclass(frozen=True)
class Recording:
    id: int
    composer: str
    ensemble: str
    audio: str
    labels: str | None
    instruments: tuple[int, ...]


def embedded_folder(piece_index: int) -> str:
    """Every fifth embedded piece lands in test_data, mirroring MusicNet's two folders."""
    return "test" if piece_index % 5 == 4 else "train"


def embedded_metadata(corpus_cfg: dict) -> pd.DataFrame:
    """Metadata of the embedded corpus as known before rendering (seconds is filled later)."""
    rows = []
    for piece in corpus_cfg["embedded"]["pieces"]:
        rows.append(
            {
                "id": int(piece["id"]),
                "composer": piece["composer"],
                "composition": piece["composition"],
                "movement": piece["movement"],
                "ensemble": piece["ensemble"],
                "source": f"music21 corpus: {piece['score']}",
                "transcriber": "music21 corpus",
                "catalog_name": piece["catalog_name"],
                "seconds": np.nan,
            }
        )
    return pd.DataFrame(rows, columns=METADATA_COLUMNS)


def embedded_recordings(corpus_cfg: dict) -> dict[int, Recording]:
    ensembles = corpus_cfg["embedded"]["ensembles"]
    recordings = {}
    for index, piece in enumerate(corpus_cfg["embedded"]["pieces"]):
        folder = embedded_folder(index)
        rid = int(piece["id"])
        if piece["ensemble"] not in ensembles:
            raise SonataError(
                f"embedded piece {rid} names ensemble {piece['ensemble']!r}, which "
                f"corpus.embedded.ensembles does not define; defined: {sorted(ensembles)}"
            )
        recordings[rid] = Recording(
            id=rid,
            composer=piece["composer"],
            ensemble=piece["ensemble"],
            audio=f"{EMBEDDED_ROOT}/{folder}_data/{rid}.mp3",
            labels=f"{EMBEDDED_ROOT}/{folder}_labels/{rid}.csv",
            instruments=tuple(sorted(set(ensembles[piece["ensemble"]]))),
        )
    return recordings


def read_metadata(path: str | Path) -> pd.DataFrame:
    """Read musicnet_metadata.csv, checking it has MusicNet's columns."""
    path = Path(path)
    if not path.is_file():
        raise SonataError(
            f"metadata file {path} does not exist: set corpus.musicnet_root to a folder "
            "holding musicnet_metadata.csv, or corpus.source: embedded"
        )
    table = pd.read_csv(path)
    missing = [c for c in ("id", "composer", "ensemble") if c not in table.columns]
    if missing:
        raise SonataError(f"{path} lacks the column(s) {missing}; MusicNet's metadata has {METADATA_COLUMNS}")
    table["id"] = table["id"].astype(int)
    return table


def _audio_files(root: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for split in SPLIT_FOLDERS:
        folder = root / f"{split}_data"
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() in AUDIO_EXTENSIONS and f.stem.isdigit():
                found.setdefault(int(f.stem), f)
    return found


def _label_instruments(path: Path) -> tuple[int, ...]:
    if not path.is_file():
        return ()
    column = pd.read_csv(path, usecols=["instrument"])["instrument"]
    return tuple(sorted(int(i) for i in column.unique()))


def musicnet_recordings(corpus_cfg: dict, need_instruments: bool) -> dict[int, Recording]:
    """Pair MusicNet metadata rows with audio files; refuse (or skip) mismatches."""
    root = Path(corpus_cfg["musicnet_root"])
    metadata = read_metadata(root / "musicnet_metadata.csv")
    audio = _audio_files(root)
    ids = set(metadata["id"])
    missing_audio = sorted(ids - set(audio))
    orphans = sorted(set(audio) - ids)
    if missing_audio and corpus_cfg["on_missing_audio"] == "error":
        raise SonataError(
            f"{len(missing_audio)} metadata row(s) in {root / 'musicnet_metadata.csv'} have no "
            f"audio under {root}/{{train,test}}_data/: ids {missing_audio[:20]}. Add the files, "
            "or set corpus.on_missing_audio: skip to leave those recordings out."
        )
    if orphans and corpus_cfg["on_orphan_audio"] == "error":
        raise SonataError(
            f"{len(orphans)} audio file(s) have no row in musicnet_metadata.csv: "
            f"{[str(audio[i]) for i in orphans[:20]]}. Add their metadata, or set "
            "corpus.on_orphan_audio: skip to ignore them."
        )
    recordings = {}
    for row in metadata.itertuples(index=False):
        if row.id not in audio:
            continue
        path = audio[row.id]
        labels = root / f"{path.parent.name.replace('_data', '_labels')}" / f"{row.id}.csv"
        recordings[row.id] = Recording(
            id=row.id,
            composer=str(row.composer),
            ensemble=str(row.ensemble),
            audio=str(path),
            labels=str(labels) if labels.is_file() else None,
            instruments=_label_instruments(labels) if need_instruments else (),
        )
    return recordings


def load_recordings(config: dict) -> dict[int, Recording]:
    corpus_cfg = config["corpus"]
    if corpus_cfg["source"] == "embedded":
        return embedded_recordings(corpus_cfg)
    need_instruments = any(d.get("instruments") for d in config["datasets"].values())
    return musicnet_recordings(corpus_cfg, need_instruments)


def _check_values(kind: str, wanted: list[str], existing: set[str], dataset: str) -> None:
    unknown = [w for w in wanted if w not in existing]
    if unknown:
        raise SonataError(
            f"dataset {dataset!r}: {kind} {unknown} match no recording; the corpus has "
            f"{sorted(existing)}. Fix datasets.{dataset}.{kind}s in config.yaml."
        )


def select_recordings(recordings: dict[int, Recording], dataset: str, dataset_cfg: dict) -> list[int]:
    """Ids a dataset keeps, by composer, ensemble and (label) instrument, sorted."""
    composers = dataset_cfg.get("composers") or []
    ensembles = dataset_cfg.get("ensembles") or []
    instruments = [int(i) for i in dataset_cfg.get("instruments") or []]
    _check_values("composer", composers, {r.composer for r in recordings.values()}, dataset)
    _check_values("ensemble", ensembles, {r.ensemble for r in recordings.values()}, dataset)
    chosen = []
    for rid, rec in sorted(recordings.items()):
        if composers and rec.composer not in composers:
            continue
        if ensembles and rec.ensemble not in ensembles:
            continue
        if instruments:
            have = set(rec.instruments)
            if dataset_cfg.get("instrument_match", "only") == "only":
                if not have or not have <= set(instruments):
                    continue
            elif not have & set(instruments):
                continue
        chosen.append(rid)
    if not chosen:
        raise SonataError(
            f"dataset {dataset!r} selects no recording: no recording is by {composers or 'any'} "
            f"in {ensembles or 'any ensemble'} with instruments {instruments or 'any'}. "
            "Widen datasets.{dataset} in config.yaml."
        )
    return chosen


def split_recordings(
    ids: list[int], seed: int, validation: float, test: float, dataset: str
) -> dict[int, str]:
    """Assign whole recordings to train/validation/test: no window leaks across splits."""
    if len(ids) < 3:
        raise SonataError(
            f"dataset {dataset!r} has {len(ids)} recording(s) ({ids}); a train/validation/test "
            "split by recording needs at least 3. Add composers or ensembles to it."
        )
    order = np.random.default_rng(seed).permutation(sorted(ids))
    n_test = max(1, int(round(test * len(ids))))
    n_val = max(1, int(round(validation * len(ids))))
    n_test = min(n_test, len(ids) - 2)
    n_val = min(n_val, len(ids) - 1 - n_test)
    split = {}
    for position, rid in enumerate(order):
        split[int(rid)] = (
            "test" if position < n_test else "validation" if position < n_test + n_val else "train"
        )
    return split
