"""Config lookups shared by the Snakefile and the scripts."""

from __future__ import annotations

from pathlib import Path

import yaml

from sonata import SonataError
from sonata.windows import WindowScheme, wavenet_scheme

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


def window_schemes(config: dict) -> dict[str, WindowScheme]:
    """Every scheme shards are built for: the named Seq2Seq schemes and one per WaveNet model."""
    schemes = {name: WindowScheme.from_config(name, cfg) for name, cfg in config["windows"].items()}
    for name, model in config["models"].items():
        if model["architecture"] == "wavenet":
            if name in schemes:
                raise SonataError(
                    f"WaveNet model {name!r} has the name of a window scheme; rename one of them"
                )
            schemes[name] = wavenet_scheme(model, name)
    for name, model in config["models"].items():
        if model["architecture"] == "seq2seq" and model["windows"] not in schemes:
            raise SonataError(
                f"model {name!r} trains on windows {model['windows']!r}, which is not defined; "
                f"windows defines {sorted(config['windows'])}"
            )
    return schemes


def model_scheme(config: dict, model: str) -> str:
    cfg = config["models"][model]
    return cfg["windows"] if cfg["architecture"] == "seq2seq" else model


def validate_config(config: dict) -> dict:
    """Validate against the JSON schema outside Snakemake (tests, benchmarks)."""
    import jsonschema

    schema = yaml.safe_load(SCHEMA.read_text())
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise SonataError(f"config.yaml is invalid at {where}: {error.message}") from error
    window_schemes(config)
    return config
