"""Cut a dataset's recordings into windows and write one chunked HDF5 shard per split."""

import pandas as pd

from sonata.windowing import SPLITS, write_shard
from sonata.windows import WindowScheme


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    scheme = WindowScheme(**snakemake.params.scheme)
    trim_below = snakemake.params.trim_below
    manifest = pd.read_parquet(snakemake.input.manifest)
    for split in SPLITS:
        write_shard(
            getattr(snakemake.output, split),
            manifest[manifest["split"] == split],
            scheme,
            split,
            snakemake.wildcards.dataset,
            snakemake.params.chunk_windows,
            trim_below,
        )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
