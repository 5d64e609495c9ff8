"""Compose new pieces with a trained model, primed from real held-out audio."""

import logging
import os
import time

import numba
import numpy as np
import pandas as pd
from tqdm import tqdm

from sonata.audio import atomic_path, read_segment, write_wav
from sonata.batching import by_length
from sonata.logs import current_job, terminal
from sonata.records import GeneratedPiece, GenerationRecord, ModelCard

log = logging.getLogger("sonata.generate")


def choose_primes(manifest: pd.DataFrame, n: int, prime_length: int) -> list[dict]:
    """Prime i comes from test recording i (cycling), starting at a third of the recording."""
    test = manifest[manifest["split"] == "test"].sort_values("id").to_dict("records")
    primes = []
    for i in range(n):
        rec = test[i % len(test)]
        start = max(0, int(rec["samples"]) // 3 - prime_length // 2)
        start = min(start, max(0, int(rec["samples"]) - prime_length))
        primes.append(
            {
                "id": int(rec["id"]),
                "wav": rec["wav"],
                "start": start,
                "composer": rec["composer"],
                "ensemble": rec["ensemble"],
            }
        )
    return primes


def generate_pieces(
    adapter,
    model,
    card: ModelCard,
    primes: np.ndarray,
    n_samples: int,
    temperature: float,
    seed: int,
    condition_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Float audio (batch, n_samples) continuing every primer, with a progress bar."""
    bar = tqdm(
        total=n_samples * len(primes),
        unit="sample",
        unit_scale=True,
        desc=current_job() or "generate",
        mininterval=5,
        file=terminal(),
    )
    audio = adapter.generate(
        model,
        card,
        primes,
        n_samples,
        temperature,
        seed,
        condition_ids,
        lambda k: bar.update(k * len(primes)),
    )
    bar.close()
    return audio


def generate_by_length(
    adapter,
    model,
    card: ModelCard,
    primes: np.ndarray,
    durations: list[float],
    rate: int,
    temperature: float,
    seed: int,
    condition_ids: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Audio for each primer, as long as its duration: one batch per length (sonata.batching),
    shortest first, with seeds seed, seed + 1, ..."""

    def generate(rows: list[int], length: float, offset: int) -> np.ndarray:
        return generate_pieces(
            adapter,
            model,
            card,
            primes[rows],
            int(round(length * rate)),
            temperature,
            seed + offset,
            None if condition_ids is None else np.asarray(condition_ids)[rows],
        )

    return by_length(durations, generate)


def run(
    card_path: str,
    weights_path: str,
    manifest_path: str,
    durations: list[float],
    outputs: list[str],
    generation_cfg: dict,
    seed: int,
    record_out: str,
) -> GenerationRecord:
    from models.conditioning import condition_ids
    from models.raw_audio import load_trained

    model, card, adapter = load_trained(card_path, weights_path)
    rate = card.sample_rate
    prime_length = max(int(generation_cfg["prime_seconds"] * rate), card.context_samples)
    primes_info = choose_primes(pd.read_parquet(manifest_path), len(durations), prime_length)
    primes = np.stack([read_segment(p["wav"], p["start"], prime_length) for p in primes_info])
    conditions = condition_ids(primes_info, card.model, card.conditions)
    started = time.time()
    audio = generate_by_length(
        adapter, model, card, primes, durations, rate, generation_cfg["temperature"], seed, conditions
    )
    seconds = time.time() - started
    pieces = []
    for i, (duration, out, prime) in enumerate(zip(durations, outputs, primes_info)):
        write_wav(out, audio[i], rate)
        pieces.append(
            GeneratedPiece(
                file=out,
                seconds=duration,
                prime_id=prime["id"],
                prime_start_sample=prime["start"],
                prime_samples=prime_length,
                composer=prime["composer"],
                ensemble=prime["ensemble"],
            )
        )
    generated = sum(len(a) for a in audio)
    record = GenerationRecord(
        architecture=card.architecture,
        temperature=generation_cfg["temperature"],
        batch=max(durations.count(d) for d in durations),  # pieces of one length generate together
        wall_seconds=round(seconds, 2),
        samples_per_second=round(generated / seconds, 1),
        real_time_factor=round((generated / rate) / seconds, 4),
        pieces=pieces,
    )
    log.info(
        "generated %d pieces (%s s) in %.1f s: real-time factor %.3f",
        len(durations),
        ", ".join(f"{d:g}" for d in durations),
        seconds,
        record.real_time_factor,
    )
    with atomic_path(record_out, suffix=".json") as tmp:
        tmp.write_text(record.to_json())
    return record


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging
    from sonata.scheduling import lower_cpu_priority

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    setup_logging(snakemake.log[0])
    lower_cpu_priority(snakemake.resources.nice)
    numba.set_num_threads(min(snakemake.threads, numba.config.NUMBA_NUM_THREADS))
    generation = snakemake.params.generation
    run(
        snakemake.input.info,
        snakemake.input.weights,
        snakemake.input.manifest,
        list(generation["durations"]),
        list(snakemake.output.pieces),
        generation,
        int(snakemake.params.seed),
        snakemake.output.info,
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
