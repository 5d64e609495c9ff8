"""Global-conditioning ids for WaveNet: one name per recording from its composer/ensemble."""

import logging

import numpy as np

from sonata.shards import ShardHeader

log = logging.getLogger("sonata.conditioning")


def condition_name(record: dict, keys: list[str]) -> str:
    """The label a recording is conditioned on, e.g. 'Beethoven' or 'Beethoven / Solo Piano'."""
    return " / ".join(str(record[k]) for k in keys)


def condition_vocabulary(records: list[dict], model_cfg: dict) -> list[str]:
    """Sorted condition names over a dataset's recordings; empty without conditioning."""
    keys = model_cfg.get("condition_on") or []
    return sorted({condition_name(r, keys) for r in records}) if keys else []


def condition_ids(records: list[dict], model_cfg: dict, vocabulary: list[str]) -> np.ndarray | None:
    """Each record's index in the vocabulary; None without conditioning."""
    keys = model_cfg.get("condition_on") or []
    if not keys:
        return None
    return np.asarray([vocabulary.index(condition_name(r, keys)) for r in records], dtype=np.int32)


def known_condition_ids(records: list[dict], model_cfg: dict, vocabulary: list[str]) -> np.ndarray | None:
    """Like condition_ids, but a name the model never trained on takes id 0, with a warning: the
    performer plays any notes (held out, validated or composed) with the conditions it knows."""
    keys = model_cfg.get("condition_on") or []
    if not keys:
        return None
    names = [condition_name(r, keys) for r in records]
    for unheard in sorted(set(names) - set(vocabulary)):
        log.warning(
            "the model never trained on %r (it knows %s): it plays as %r", unheard, vocabulary, vocabulary[0]
        )
    return np.asarray([vocabulary.index(n) if n in vocabulary else 0 for n in names], dtype=np.int32)


def condition_labels(info: ShardHeader, model_cfg: dict, vocabulary: list[str]) -> np.ndarray | None:
    """Per-recording condition ids of a shard, from its composers/ensembles attributes."""
    records = [
        {"composer": composer, "ensemble": ensemble}
        for composer, ensemble in zip(info.composers, info.ensembles)
    ]
    return condition_ids(records, model_cfg, vocabulary)
