"""The corpus catalog: which recordings exist, where their audio is, and which a dataset selects.

Everything here runs at parse time, so that Snakemake decides the fan-out from the metadata
without checkpoints.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sonata import SonataError
from sonata.labels import read_labels

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
    group: str  # the movement it plays: recordings of one movement share a split


def _normalise(text: object) -> str:
    """Case, accents and spacing removed, so that "Op. 18  No. 1" and "op. 18 no. 1" agree."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", bare).strip().casefold()


def movement_key(rid: int, composer: object, catalog_name: object, movement: object) -> str:
    """What makes two recordings the same music: composer, catalog name and movement.

    An arrangement for another ensemble or another performance of a movement gets the same
    key; a recording whose catalog name and movement are both unknown is its own group.
    """
    catalog, part = _normalise(catalog_name), _normalise(movement)
    if not catalog and not part:
        return f"recording {rid}"
    return " | ".join((_normalise(composer), catalog, part))


def embedded_folder(piece_id: int) -> str:
    """Every fifth id lands in test_data, as MusicNet keeps a few recordings apart.

    Decided by the id alone, so adding a piece never moves another one's files.
    """
    return "test" if piece_id % 5 == 0 else "train"


def embedded_metadata_row(piece: dict) -> dict:
    """A piece's musicnet_metadata.csv row as known before rendering (seconds comes after)."""
    return {
        "id": int(piece["id"]),
        "composer": piece["composer"],
        "composition": piece["composition"],
        "movement": piece["movement"],
        "ensemble": piece["ensemble"],
        "source": f"music21 corpus: {piece['score']}",
        "transcriber": "music21 corpus",
        "catalog_name": piece["catalog_name"],
        "seconds": None,
    }


def embedded_recordings(corpus_cfg: dict) -> dict[int, Recording]:
    ensembles = corpus_cfg["embedded"]["ensembles"]
    dynamics = corpus_cfg["embedded"]["dynamics"]
    if corpus_cfg["embedded"]["default_dynamic"] not in dynamics:
        raise SonataError(
            f"corpus.embedded.default_dynamic {corpus_cfg['embedded']['default_dynamic']!r} is not "
            f"one of corpus.embedded.dynamics ({sorted(dynamics)}): name one of those"
        )
    recordings = {}
    for piece in corpus_cfg["embedded"]["pieces"]:
        rid = int(piece["id"])
        folder = embedded_folder(rid)
        if rid in recordings:
            raise SonataError(
                f"two embedded pieces have id {rid}: give each piece in corpus.embedded.pieces its own id"
            )
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
            group=movement_key(rid, piece["composer"], piece["catalog_name"], piece["movement"]),
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
    """<id>.<ext> audio files: MusicNet's {train,test}_data/ folders, and the root folder itself
    (a plain folder of recordings beside its musicnet_metadata.csv)."""
    found: dict[int, Path] = {}
    for folder in (*(root / f"{split}_data" for split in SPLIT_FOLDERS), root):
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() in AUDIO_EXTENSIONS and f.stem.isdigit():
                found.setdefault(int(f.stem), f)
    return found


def _label_instruments(path: Path) -> tuple[int, ...]:
    if not path.is_file():
        return ()
    return tuple(sorted(int(i) for i in read_labels(str(path))["program"].unique()))


def expected_labels(audio: str) -> str:
    """Where MusicNet keeps a recording's label CSV: {train,test}_labels/<id>.csv beside its audio
    folder; for a recording in a plain folder (not a *_data folder), labels/<id>.csv beside it."""
    path = Path(audio)
    if not path.parent.name.endswith("_data"):
        return str(path.parent / "labels" / f"{path.stem}.csv")
    return str(path.parent.parent / path.parent.name.replace("_data", "_labels") / f"{path.stem}.csv")


TRANSCRIBED_LABELS = "results/transcribed/{id}.csv"  # where rule transcribe_labels writes a recording's


def with_transcribed_labels(
    recordings: dict[int, Recording], on_missing_labels: str, replace_labels: bool, program: int
) -> dict[int, Recording]:
    """The recordings with the label CSV the notes route should learn from: the transcriber's
    (TRANSCRIBED_LABELS) where a recording has none and `on_missing_labels` is "transcribe", and
    for every recording with `replace_labels` (to measure what learning from transcriptions
    costs). A recording that had no labels plays `program` alone (basic-pitch tells no
    instruments apart), which is what an instrument filter then judges; one that had labels keeps
    the instruments they list."""
    swapped = {}
    for rid, rec in recordings.items():
        if rec.labels is None and on_missing_labels == "transcribe":
            rec = dataclasses.replace(
                rec, labels=TRANSCRIBED_LABELS.format(id=rid), instruments=(int(program),)
            )
        elif rec.labels is not None and replace_labels:
            rec = dataclasses.replace(rec, labels=TRANSCRIBED_LABELS.format(id=rid))
        swapped[rid] = rec
    return swapped


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
            f"audio under {root}/{{train,test}}_data/ or {root}/: ids {missing_audio[:20]}. Add the files, "
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
        labels = Path(expected_labels(str(path)))
        recordings[row.id] = Recording(
            id=row.id,
            composer=str(row.composer),
            ensemble=str(row.ensemble),
            audio=str(path),
            labels=str(labels) if labels.is_file() else None,
            instruments=_label_instruments(labels) if need_instruments else (),
            group=movement_key(
                row.id, row.composer, getattr(row, "catalog_name", None), getattr(row, "movement", None)
            ),
        )
    return recordings


def load_recordings(config: dict) -> dict[int, Recording]:
    corpus_cfg = config["corpus"]
    if corpus_cfg["source"] == "embedded":
        return embedded_recordings(corpus_cfg)
    need_instruments = any(d.get("instruments") for d in config["datasets"].values())
    return musicnet_recordings(corpus_cfg, need_instruments)


def _nfc(name: object) -> str:
    """One spelling per name: "Dvořák" typed with a combining caron equals the precomposed one."""
    return unicodedata.normalize("NFC", str(name))


def _check_values(kind: str, wanted: list[str], existing: set[str], dataset: str, source: str) -> None:
    known = {_nfc(e) for e in existing}
    unknown = [w for w in wanted if _nfc(w) not in known]
    if unknown:
        raise SonataError(
            f"dataset {dataset!r}: {kind} {unknown} match no recording; the corpus has "
            f"{sorted(existing)}. Fix datasets.{dataset}.{kind}s in {source}."
        )


def select_recordings(
    recordings: dict[int, Recording],
    dataset: str,
    dataset_cfg: dict,
    on_missing_labels: str = "error",
    source: str = "config.yaml",
) -> list[int]:
    """Ids a dataset keeps, by composer, ensemble and (label) instrument, sorted.

    An instrument filter needs each candidate's label CSV: a missing one is an error naming it,
    unless `on_missing_labels` is "skip", which leaves such recordings out. Errors name the
    config file the dataset came from (`source`).
    """
    composers = dataset_cfg.get("composers") or []
    ensembles = dataset_cfg.get("ensembles") or []
    instruments = [int(i) for i in dataset_cfg.get("instruments") or []]
    _check_values("composer", composers, {r.composer for r in recordings.values()}, dataset, source)
    _check_values("ensemble", ensembles, {r.ensemble for r in recordings.values()}, dataset, source)
    composers_nfc, ensembles_nfc = {_nfc(c) for c in composers}, {_nfc(e) for e in ensembles}
    chosen, unlabelled = [], []
    for rid, rec in sorted(recordings.items()):
        if composers and _nfc(rec.composer) not in composers_nfc:
            continue
        if ensembles and _nfc(rec.ensemble) not in ensembles_nfc:
            continue
        if instruments and rec.labels is None:
            unlabelled.append(expected_labels(rec.audio))
            continue
        if instruments:
            have = set(rec.instruments)
            if dataset_cfg.get("instrument_match", "only") == "only":
                if not have or not have <= set(instruments):
                    continue
            elif not have & set(instruments):
                continue
        chosen.append(rid)
    if unlabelled and on_missing_labels == "error":
        raise SonataError(
            f"dataset {dataset!r} filters by instrument, which the label CSVs tell, but "
            f"{len(unlabelled)} of its recordings have none: {unlabelled[:20]}. Add those files, or "
            "set corpus.on_missing_labels: skip to leave such recordings out, or transcribe to label "
            "them by transcription."
        )
    if not chosen:
        raise SonataError(
            f"dataset {dataset!r} selects no recording: no recording is by {composers or 'any'} "
            f"in {ensembles or 'any ensemble'} with instruments {instruments or 'any'}. "
            f"Widen datasets.{dataset} in {source}."
        )
    return chosen


def split_recordings(
    groups: dict[int, str], seed: int, validation: float, test: float, dataset: str
) -> dict[int, str]:
    """Assign whole movements to train/validation/test.

    `groups` maps each recording to its movement key: every recording of one movement (an
    arrangement, another performance) lands in the same split, so held-out figures never
    measure memory of music heard in training.
    """
    members: dict[str, list[int]] = {}
    for rid, group in sorted(groups.items()):
        members.setdefault(group, []).append(rid)
    if len(members) < 3:
        raise SonataError(
            f"dataset {dataset!r} holds {len(members)} movement(s) ({sorted(members)}) in "
            f"{len(groups)} recording(s); a train/validation/test split by movement needs at "
            "least 3. Add composers or ensembles to it."
        )
    order = np.random.default_rng(seed).permutation(sorted(members))
    n_test = max(1, int(round(test * len(order))))
    n_val = max(1, int(round(validation * len(order))))
    n_test = min(n_test, len(order) - 2)
    n_val = min(n_val, len(order) - 1 - n_test)
    split = {}
    for position, group in enumerate(order):
        name = "test" if position < n_test else "validation" if position < n_test + n_val else "train"
        for rid in members[str(group)]:
            split[rid] = name
    return split
