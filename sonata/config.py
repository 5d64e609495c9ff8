"""Config validation outside Snakemake (tests, benchmarks); Snakemake validates at parse time."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from sonata import SonataError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "schemas" / "config.schema.yaml"


RESERVED_NAME = "notes"  # no model or window scheme may take it


def validate_config(config: dict, source: str = "config.yaml") -> dict:
    """Check a config against the JSON schema; the message names the key at fault, in a line
    or two (not the whole schema and config), and for an unknown key the keys allowed there."""
    import jsonschema

    schema = yaml.safe_load(SCHEMA.read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is None:
        for section in ("models", "windows"):  # their names become folders beside the notes route's
            if RESERVED_NAME in config.get(section, {}):
                raise SonataError(
                    f"{source} is invalid at {section}/{RESERVED_NAME}: '{RESERVED_NAME}' names the notes "
                    f"route's folders (results/shards/<dataset>/{RESERVED_NAME}/, "
                    f"results/samples/<dataset>/{RESERVED_NAME}/); give it another name"
                )
        return config
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties" and "properties" in error.schema:
        allowed = sorted(error.schema["properties"])
        unknown = sorted(set(error.instance) - set(allowed))
        raise SonataError(
            f"{source} is invalid at {where}: unknown key(s) {unknown}; allowed there: {allowed}"
        )
    raise SonataError(f"{source} is invalid at {where}: {_short(error.message)}")


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[:limit] + " ..."


# Sections a user's config replaces whole: Snakemake merges --configfile files into config.yaml
# key by key, which would keep the shipped datasets and models beside the user's own and fill a
# user's dataset with the keys of a shipped one of the same name.
REPLACED_SECTIONS = ("datasets", "models")


def apply_user_sections(config: dict, overrides: dict) -> None:
    """Give the user's `datasets:` and `models:` (from --configfile or --config) exactly as
    written; every other section keeps the defaults the user left out."""
    for section in REPLACED_SECTIONS:
        if section in overrides:
            config[section] = copy.deepcopy(overrides[section])


def merged_config(base: dict, over: dict) -> dict:
    """`over` on top of `base` as the workflow reads them (a preset or a user's file over
    config.yaml): nested sections update, other values replace, and `datasets:` and `models:`
    come from `over` whole (`apply_user_sections`). Neither argument is changed."""

    def update(into: dict, values: dict) -> dict:
        for key, value in values.items():
            nested = isinstance(value, dict) and isinstance(into.get(key), dict)
            into[key] = update(into[key], value) if nested else copy.deepcopy(value)
        return into

    config = update(copy.deepcopy(base), over)
    apply_user_sections(config, over)
    return config


def note_model_training(config: dict, schedule: dict) -> dict:
    """The `training:` section as a notes-route model trains under it: its own epochs, steps and
    validation steps (`schedule`: its registry's training_schedule), and never stopped early
    (its checkpoint keeps the best epoch of all)."""
    merged = {**config["training"], **schedule}
    return {**merged, "early_stopping_patience": merged["epochs"]}


def config_source(section: str, configfiles: list) -> str:
    """The config file a section's values come from: the last --configfile naming it, else
    config.yaml, so that an error tells the user which file to fix."""
    for path in reversed([str(p) for p in configfiles]):
        if section in (yaml.safe_load(Path(path).read_text()) or {}):
            return path
    return "config.yaml"


def repo_config() -> dict:
    """config.yaml as shipped, not validated (tests and benchmarks change it, then validate)."""
    return yaml.safe_load((REPO / "config.yaml").read_text())


def read_config(path: str | Path = REPO / "config.yaml") -> dict:
    """A whole workflow config (config.yaml by default), validated."""
    return validate_config(yaml.safe_load(Path(path).read_text()), str(path))
