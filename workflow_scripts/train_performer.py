"""Train the one performer every dataset shares (notes.performer.architecture, through
models.notes.performers)."""

import os


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from models.notes.performers.training import train_performer
    from models.training import TrainingConfig, TrainingOutputs
    from sonata.logs import setup_logging

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    setup_logging(snakemake.log[0])
    train_performer(
        snakemake.params.performer,
        snakemake.params.notes,
        TrainingConfig.from_config(snakemake.params.training),
        {
            "train": list(snakemake.input.train),
            "validation": list(snakemake.input.validation),
            "test": list(snakemake.input.test),
        },
        int(snakemake.params.seed),
        TrainingOutputs(
            snakemake.output.weights,
            snakemake.output.info,
            snakemake.output.history,
            snakemake.params.work_dir,
        ),
        snakemake.params.listening,
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
