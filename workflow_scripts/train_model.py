"""Train one model on one dataset's shards, resumable after the job is killed."""

import os

from models.raw_audio.training import TrainingData, train
from models.training import TrainingConfig, TrainingOutputs


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    import pandas as pd

    from models.raw_audio import model_spec
    from sonata.logs import setup_logging
    from sonata.scheduling import lower_cpu_priority

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    setup_logging(snakemake.log[0])
    lower_cpu_priority(snakemake.resources.nice)
    rows = pd.read_parquet(snakemake.input.manifest).to_dict("records")
    train(
        model_spec(snakemake.params.model),
        TrainingConfig.from_config(snakemake.params.training),
        TrainingData(snakemake.input.train, snakemake.input.validation, rows),
        TrainingOutputs(
            snakemake.output.weights,
            snakemake.output.info,
            snakemake.output.history,
            snakemake.params.work_dir,
        ),
        int(snakemake.params.seed),
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
