"""Score a trained model on held-out test windows against trivial predictors on the same windows."""

import logging

import numpy as np
import pandas as pd

from sonata.audio import atomic_path
from sonata.shards import read_blocks, read_header

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


def evaluate(card_path: str, weights_path: str, test_path: str, max_windows: int, seed: int) -> pd.DataFrame:
    """The model's scores and trivial predictors' on the same held-out windows."""
    from models.conditioning import condition_labels
    from models.raw_audio import load_trained

    model, card, adapter = load_trained(card_path, weights_path)
    header = read_header(test_path)
    labels = condition_labels(header, card.model, card.conditions)
    windows, conditions = sample_windows(test_path, max_windows, seed, labels)
    rows = adapter.evaluate(model, card, windows, header, conditions if labels is not None else None)
    table = pd.DataFrame(rows)
    table.insert(0, "windows", len(windows))
    return table


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from models.training import configure_tensorflow
    from sonata.logs import setup_logging
    from sonata.scheduling import lower_cpu_priority

    setup_logging(snakemake.log[0])
    lower_cpu_priority(snakemake.resources.nice)
    configure_tensorflow(snakemake.threads, mixed_precision=False)  # the threads its rule asked for
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
