"""Config validation outside Snakemake (tests, benchmarks); Snakemake validates at parse time."""

from __future__ import annotations

from pathlib import Path

import yaml

from sonata import SonataError

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


def validate_config(config: dict) -> dict:
    """Check a config against the JSON schema; the message names the key at fault."""
    import jsonschema

    schema = yaml.safe_load(SCHEMA.read_text())
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise SonataError(f"config.yaml is invalid at {where}: {error.message}") from error
    return config
