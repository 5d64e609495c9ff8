"""Score a trained model on held-out test windows against trivial predictors on the same windows."""

import logging
import math

import numpy as np
import pandas as pd

from sonata.audio import atomic_path
from sonata.mulaw import mulaw_decode
from sonata.shards import ShardHeader, read_blocks, read_header

log = logging.getLogger("sonata.evaluate")


def sample_windows(path: str, max_windows: int, seed: int, labels: np.ndarray | None = None):
    """Up to max_windows test windows (and their condition ids) from randomly ordered chunks."""

    taken, conditions, total = [], [], 0
    for windows, condition in read_blocks(path, seed, labels):
        taken.append(windows)
        conditions.append(condition)
        total += len(windows)
        if total >= max_windows:
            break
    return np.concatenate(taken)[:max_windows], np.concatenate(conditions)[:max_windows]


def seq2seq_scores(model, facts: dict, windows: np.ndarray, info: ShardHeader) -> list[dict]:
    from models.data import seq2seq_pairs
    from models.seq2seq import Seq2SeqGenerator

    start = float(facts["model"]["start_token"])
    (x, decoder_in), y = seq2seq_pairs(windows, info, start)
    y = y[..., 0]
    forced = model.predict([x, decoder_in], batch_size=256, verbose=0)[..., 0]
    free = Seq2SeqGenerator(model, start, 1).predict_block(x[..., 0])
    last = x[:, -1, 0:1]
    return [
        {"metric": "mse", "predictor": "model (teacher forcing)", "value": float(np.mean((forced - y) ** 2))},
        {"metric": "mse", "predictor": "model (free running)", "value": float(np.mean((free - y) ** 2))},
        {"metric": "mse", "predictor": "predict zero", "value": float(np.mean(y**2))},
        {"metric": "mse", "predictor": "repeat last sample", "value": float(np.mean((y - last) ** 2))},
    ]


def wavenet_scores(model, facts: dict, windows: np.ndarray, info: ShardHeader, labels) -> list[dict]:
    import keras

    from models.data import wavenet_pairs

    q = int(facts["model"]["quantization_channels"])
    rf = int(facts["receptive_field"])
    x, codes = wavenet_pairs(windows, info, q)
    inputs = [x] if labels is None else [x, labels.reshape(-1, 1)]
    logits = model.predict(inputs, batch_size=16, verbose=0)[:, rf - 1 :, :]
    log_probs = np.asarray(keras.ops.log_softmax(logits, axis=-1))
    nll = -np.take_along_axis(log_probs, codes[..., None], axis=-1).mean() / math.log(2)
    counts = np.bincount(codes.ravel(), minlength=q) + 1.0
    marginal = counts / counts.sum()
    marginal_bits = float(-(np.log2(marginal)[codes]).mean())
    levels = mulaw_decode(np.arange(q), q)
    expected = np.exp(log_probs) @ levels
    target = info.audio(windows[:, info.target_offset :])
    last = info.audio(windows[:, info.target_offset - 1 : -1])
    return [
        {"metric": "nll_bits_per_sample", "predictor": "model", "value": float(nll)},
        {"metric": "nll_bits_per_sample", "predictor": "uniform", "value": math.log2(q)},
        {"metric": "nll_bits_per_sample", "predictor": "marginal (oracle histogram)", "value": marginal_bits},
        {
            "metric": "mse",
            "predictor": "model (expected value)",
            "value": float(np.mean((expected - target) ** 2)),
        },
        {"metric": "mse", "predictor": "predict zero", "value": float(np.mean(target**2))},
        {"metric": "mse", "predictor": "repeat last sample", "value": float(np.mean((target - last) ** 2))},
    ]


def evaluate(info_path: str, weights_path: str, test_path: str, max_windows: int, seed: int) -> pd.DataFrame:
    from models.conditioning import condition_labels
    from models.loading import load_trained

    model, facts = load_trained(info_path, weights_path)
    info = read_header(test_path)
    labels = condition_labels(info, facts["model"], facts["conditions"])
    windows, conditions = sample_windows(test_path, max_windows, seed, labels)
    if facts["architecture"] == "seq2seq":
        rows = seq2seq_scores(model, facts, windows, info)
    else:
        rows = wavenet_scores(model, facts, windows, info, conditions if labels is not None else None)
    table = pd.DataFrame(rows)
    table.insert(0, "windows", len(windows))
    return table


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    table = evaluate(
        snakemake.input.info,
        snakemake.input.weights,
        snakemake.input.test,
        snakemake.params.max_windows,
        snakemake.params.seed,
    )
    table.insert(0, "model", snakemake.wildcards.model)
    table.insert(0, "dataset", snakemake.wildcards.dataset)
    log.info("\n%s", table.to_string(index=False))
    with atomic_path(snakemake.output[0], suffix=".csv") as tmp:
        table.to_csv(tmp, index=False)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
