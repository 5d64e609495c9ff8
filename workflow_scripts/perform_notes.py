"""Perform notes with the shared performer: a dataset's composed pieces, and held-out notes
beside the real audio of the same passage."""

import json
import logging
import os
import time

import numba
import numpy as np
import pandas as pd
from tqdm import tqdm

from sonata.audio import atomic_path, interpolate, read_audio, write_wav
from sonata.logs import terminal
from sonata.notes import excerpt, labels_table, passage_start, read_labels
from sonata.records import COMPOSED, HELD_OUT, REAL_PASSAGE, GeneratedPiece, GenerationRecord
from sonata.shards import read_notes_shard

log = logging.getLogger("sonata.perform")


def held_out_passage(test_path: str, seconds: float) -> tuple[dict, pd.DataFrame]:
    """The first test recording's notes from a third of the way in, `seconds` long, shifted to 0."""
    header, tables = read_notes_shard(test_path)
    start = passage_start(tables[0], seconds)
    where = {
        "id": header.source_ids[0],
        "wav": header.wavs[0],
        "start": start,
        "composer": header.composers[0],
        "ensemble": header.ensembles[0],
    }
    return where, excerpt(tables[0], start, seconds)


def perform_all(
    card_path: str,
    weights_path: str,
    composition_path: str,
    test_path: str,
    frame_seconds: float,
    held_out_seconds: float,
    temperature: float,
    probability_floor: float,
    output_rate: int,
    seed: int,
    out_dir: str,
    record_out: str,
) -> GenerationRecord:
    from models.performer import PerformerSettings, load_performer, perform

    model, spec, card = load_performer(card_path, weights_path)
    scheme = card.scheme
    settings = PerformerSettings(
        card.sample_rate,
        frame_seconds,
        scheme["onset_frames"],
        scheme["window_samples"] // scheme["frame_samples"],
    )
    composition = json.loads(open(composition_path).read())
    jobs = [(COMPOSED, p["seconds"], read_labels(p["labels"]), p) for p in composition["pieces"]]
    where, passage = held_out_passage(test_path, held_out_seconds)
    passage_labels = os.path.join(out_dir, "held_out.csv")
    with atomic_path(passage_labels, suffix=".csv") as tmp:
        labels_table(passage).to_csv(tmp, index=False)
    jobs.append((HELD_OUT, held_out_seconds, passage, {**where, "labels": passage_labels}))
    keys = card.model.get("condition_on") or []
    names = [" / ".join(str(info[k]) for k in keys) for _, _, _, info in jobs]
    ids = np.array([card.conditions.index(n) if n in card.conditions else 0 for n in names]) if keys else None
    seconds = [s for _, s, _, _ in jobs]
    bar = tqdm(
        total=int(max(seconds) * settings.sample_rate) * len(jobs),
        unit="sample",
        unit_scale=True,
        file=terminal(),
        desc="perform",
        mininterval=5,
    )
    started = time.time()
    audio = perform(
        model,
        spec,
        settings,
        [n for _, _, n, _ in jobs],
        seconds,
        ids,
        temperature,
        seed,
        bar.update,
        probability_floor,
    )
    wall = time.time() - started
    bar.close()
    factor = output_rate // settings.sample_rate
    pieces = []
    for (role, length, _, info), sound in zip(jobs, audio):
        name = "held_out.wav" if role == HELD_OUT else f"{length:g}s.wav"
        path = os.path.join(out_dir, name)
        write_wav(path, interpolate(sound, factor), output_rate)
        pieces.append(
            GeneratedPiece(
                path,
                float(length),
                int(info.get("prime_id", info.get("id"))),
                0,
                0,
                info["composer"],
                info["ensemble"],
                role,
                info["labels"],
            )
        )
    real, rate = read_audio(where["wav"])
    start = int(where["start"] * rate)
    real_path = os.path.join(out_dir, "held_out_real.wav")
    write_wav(real_path, real[start : start + int(held_out_seconds * rate)], rate)
    pieces.append(
        GeneratedPiece(
            real_path,
            float(held_out_seconds),
            int(where["id"]),
            start,
            0,
            where["composer"],
            where["ensemble"],
            REAL_PASSAGE,
            passage_labels,
        )
    )
    made = int(max(seconds) * settings.sample_rate) * len(jobs)
    record = GenerationRecord(
        architecture="composer + performer",
        temperature=float(temperature),
        probability_floor=float(probability_floor),
        batch=len(jobs),
        wall_seconds=round(wall, 2),
        samples_per_second=round(made / wall, 1),
        real_time_factor=round(made / settings.sample_rate / wall, 4),
        pieces=pieces,
    )
    with atomic_path(record_out, suffix=".json") as tmp:
        tmp.write_text(record.to_json())
    log.info(
        "performed %d pieces in %.1f s (real-time factor %.2f)", len(jobs), wall, record.real_time_factor
    )
    return record


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    setup_logging(snakemake.log[0])
    numba.set_num_threads(min(snakemake.threads, numba.config.NUMBA_NUM_THREADS))
    perform_all(
        snakemake.input.info,
        snakemake.input.weights,
        snakemake.input.composition,
        snakemake.input.test,
        float(snakemake.params.frame_seconds),
        float(snakemake.params.held_out_seconds),
        float(snakemake.params.temperature),
        float(snakemake.params.probability_floor),
        int(snakemake.params.sample_rate),
        int(snakemake.params.seed),
        os.path.dirname(snakemake.output.info),
        snakemake.output.info,
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
