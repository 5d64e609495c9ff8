"""Perform notes with the shared performer: a dataset's composed pieces, and passages of
held-out notes, each beside the real audio of the same passage."""

import json
import logging
import os
import time

import numba
from tqdm import tqdm

from models.conditioning import known_condition_ids
from sonata import SonataError
from sonata.audio import atomic_path, interpolate, read_segment, write_wav
from sonata.labels import labels_table, read_labels
from sonata.logs import current_job, terminal
from sonata.passages import held_out_passages
from sonata.records import COMPOSED, HELD_OUT, REAL_PASSAGE, GeneratedPiece, GenerationRecord

log = logging.getLogger("sonata.perform")


def perform_all(
    card_path: str,
    weights_path: str,
    composition_path: str,
    test_path: str,
    frame_seconds: float,
    held_out_seconds: float,
    held_out_count: int,
    sampling: dict,
    output_rate: int,
    seed: int,
    out_dir: str,
    record_out: str,
    piece_paths: list[str] | None = None,
) -> GenerationRecord:
    from models.notes.performers import load_performer
    from models.notes.performers.settings import PerformerSettings

    model, spec, card, adapter = load_performer(card_path, weights_path)
    settings = PerformerSettings.from_card(card, frame_seconds)
    composition = json.loads(open(composition_path).read())
    composed = composition["pieces"]
    # each composed piece to its path in `piece_paths` (the composition's order), else <seconds>s.wav
    paths = piece_paths or [os.path.join(out_dir, f"{p['seconds']:g}s.wav") for p in composed]
    if len(paths) != len(composed):
        raise SonataError(f"{composition_path} holds {len(composed)} pieces, not {len(paths)}")
    jobs = [
        (COMPOSED, p["seconds"], read_labels(p["labels"]), {**p, "path": path})
        for p, path in zip(composed, paths)
    ]
    passages = held_out_passages(test_path, held_out_seconds, held_out_count)
    for number, (where, passage) in enumerate(passages, start=1):
        where["labels"] = os.path.join(out_dir, f"held_out_{number}.csv")
        with atomic_path(where["labels"], suffix=".csv") as tmp:
            labels_table(passage).to_csv(tmp, index=False)
        jobs.append((HELD_OUT, held_out_seconds, passage, {**where, "number": number}))
    ids = known_condition_ids([info for _, _, _, info in jobs], card.model, card.conditions)
    seconds = [s for _, s, _, _ in jobs]
    made = sum(int(round(s * settings.sample_rate)) for s in seconds)  # each piece its own length
    bar = tqdm(
        total=made,
        unit="sample",
        unit_scale=True,
        file=terminal(),
        desc=current_job() or "perform",
        mininterval=5,
    )
    started = time.time()
    audio = adapter.perform(
        model,
        spec,
        settings,
        [n for _, _, n, _ in jobs],
        seconds,
        ids,
        seed,
        sampling,
        bar.update,
    )
    wall = time.time() - started
    bar.close()
    factor = output_rate // settings.sample_rate
    pieces = []
    for (role, length, _, info), sound in zip(jobs, audio):
        path = os.path.join(out_dir, f"held_out_{info['number']}.wav") if role == HELD_OUT else info["path"]
        write_wav(path, interpolate(sound, factor), output_rate)
        if role == COMPOSED:
            pieces.append(GeneratedPiece.composed(info, path, output_rate, role))
            continue
        pieces.append(  # a held-out passage: where it begins; nothing primes it
            GeneratedPiece(
                path,
                float(length),
                int(info["id"]),
                int(info["start"] * output_rate),  # as the real passage below counts it
                0,
                info["composer"],
                info["ensemble"],
                role,
                info["labels"],
                info["number"],
            )
        )
    for number, (where, _) in enumerate(passages, start=1):
        start = int(where["start"] * output_rate)  # the converted audio is at the output rate
        real_path = os.path.join(out_dir, f"held_out_{number}_real.wav")
        real = read_segment(where["wav"], start, int(held_out_seconds * output_rate))
        write_wav(real_path, real, output_rate)
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
                where["labels"],
                number,
            )
        )
    record = GenerationRecord(
        architecture="composer + performer",
        # what its performer reads of notes.performer's sampling keys; None where it reads none
        temperature=sampling.get("temperature"),
        probability_floor=sampling.get("probability_floor"),
        guidance=sampling.get("guidance"),
        batch=max(seconds.count(s) for s in seconds),  # pieces of one length play together
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
        int(snakemake.params.held_out_passages),
        dict(snakemake.params.sampling),
        int(snakemake.params.sample_rate),
        int(snakemake.params.seed),
        os.path.dirname(snakemake.output.info),
        snakemake.output.info,
        list(snakemake.output.pieces),
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
