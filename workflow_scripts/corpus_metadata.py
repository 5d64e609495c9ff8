"""Assemble the embedded corpus's musicnet_metadata.csv from the rows its render jobs wrote."""

import json

import pandas as pd

from sonata.audio import atomic_path
from sonata.catalog import METADATA_COLUMNS


def write_metadata(row_paths: list[str], path: str) -> pd.DataFrame:
    rows = [json.loads(open(p).read()) for p in row_paths]
    table = pd.DataFrame(rows, columns=METADATA_COLUMNS).sort_values("id")
    with atomic_path(path, suffix=".csv") as tmp:
        table.to_csv(tmp, index=False)
    return table


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    log = setup_logging(snakemake.log[0])
    table = write_metadata(list(snakemake.input.rows), snakemake.output[0])
    log.info("%d recordings, %.1f minutes", len(table), table["seconds"].sum() / 60)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
