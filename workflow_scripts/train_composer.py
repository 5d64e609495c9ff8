"""Train a dataset's composer (notes.composer.architecture, through models.notes.composers)."""

import os


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from models.notes.composers import COMPOSERS
    from models.training import TrainingConfig, TrainingOutputs
    from sonata.logs import setup_logging

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    setup_logging(snakemake.log[0])
    settings = snakemake.params.composer
    COMPOSERS.named(settings["architecture"]).train(
        settings,
        float(snakemake.params.frame_seconds),
        TrainingConfig.from_config(snakemake.params.training),
        snakemake.input.train,
        snakemake.input.validation,
        int(snakemake.params.seed),
        TrainingOutputs(
            snakemake.output.weights,
            snakemake.output.info,
            snakemake.output.history,
            snakemake.params.work_dir,
        ),
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
