"""Compose new pieces with a trained model, primed from real held-out audio."""

import json
import logging
import os
import time

import numba
import numpy as np
import pandas as pd
from tqdm import tqdm

from sonata.audio import atomic_path, read_segment, write_wav
from sonata.mulaw import mulaw_compand, mulaw_decode

log = logging.getLogger("sonata.generate")
BLOCK_SECONDS = 1.0  # progress granularity


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
    model,
    facts: dict,
    primes: np.ndarray,
    n_samples: int,
    temperature: float,
    seed: int,
    condition_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Float audio (batch, n_samples) continuing every primer, with a progress bar."""
    rate = int(facts["sample_rate"])
    block = max(1, int(BLOCK_SECONDS * rate))
    bar = tqdm(total=n_samples * len(primes), unit="sample", unit_scale=True, desc="generate", mininterval=5)
    if facts["architecture"] == "seq2seq":
        from models.seq2seq import Seq2SeqGenerator

        scheme = facts["scheme"]
        new = scheme["target_offset"] + scheme["target_length"] - scheme["input_length"]

        class Progress:
            def update(self, k):
                bar.update(k * len(primes))

        audio = Seq2SeqGenerator(model, facts["model"]["start_token"], new).generate(
            primes, n_samples, Progress()
        )
    else:
        from models.wavenet import IncrementalWaveNet, WaveNetWeights

        q = int(facts["model"]["quantization_channels"])
        sampler = IncrementalWaveNet(WaveNetWeights(model, facts["model"]), len(primes), seed, condition_ids)
        sampler.feed(mulaw_compand(primes, q))
        codes = []
        for done in range(0, n_samples, block):
            step = min(block, n_samples - done)
            codes.append(sampler.sample(step, temperature))
            bar.update(step * len(primes))
        audio = mulaw_decode(np.concatenate(codes, axis=1), q)
    bar.close()
    return audio


def run(
    info_path: str,
    weights_path: str,
    manifest_path: str,
    durations: list[float],
    outputs: list[str],
    generation_cfg: dict,
    seed: int,
    info_out: str,
) -> dict:
    from models.conditioning import condition_ids
    from models.loading import load_trained

    model, facts = load_trained(info_path, weights_path)
    rate = int(facts["sample_rate"])
    context = facts.get("receptive_field") or facts["scheme"]["input_length"]
    prime_length = max(int(generation_cfg["prime_seconds"] * rate), int(context))
    primes_info = choose_primes(pd.read_parquet(manifest_path), len(durations), prime_length)
    primes = np.stack([read_segment(p["wav"], p["start"], prime_length) for p in primes_info])
    conditions = condition_ids(primes_info, facts["model"], facts["conditions"])
    n_samples = int(round(max(durations) * rate))
    started = time.time()
    audio = generate_pieces(model, facts, primes, n_samples, generation_cfg["temperature"], seed, conditions)
    seconds = time.time() - started
    pieces = []
    for i, (duration, out, prime) in enumerate(zip(durations, outputs, primes_info)):
        write_wav(out, audio[i, : int(round(duration * rate))], rate)
        pieces.append(
            {
                "file": out,
                "seconds": duration,
                "prime_id": prime["id"],
                "prime_start_sample": prime["start"],
                "prime_samples": prime_length,
                "composer": prime["composer"],
                "ensemble": prime["ensemble"],
            }
        )
    generated = n_samples * len(durations)
    facts_out = {
        "architecture": facts["architecture"],
        "temperature": generation_cfg["temperature"],
        "batch": len(durations),
        "wall_seconds": round(seconds, 2),
        "samples_per_second": round(generated / seconds, 1),
        "real_time_factor": round((generated / rate) / seconds, 4),
        "pieces": pieces,
    }
    log.info(
        "generated %d x %.1f s in %.1f s: real-time factor %.3f",
        len(durations),
        n_samples / rate,
        seconds,
        facts_out["real_time_factor"],
    )
    with atomic_path(info_out, suffix=".json") as tmp:
        tmp.write_text(json.dumps(facts_out, indent=2))
    return facts_out


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    setup_logging(snakemake.log[0])
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
