"""Drawing a token from logits, as every composer's numba sampler does: temperature, a mask of
the tokens the grammar allows, and nucleus (top-p) sampling."""

from collections.abc import Iterable

import numba
import numpy as np

from sonata import SonataError

GM_PROGRAMS = 128  # a vocabulary's instrument tokens: one per GM program, from its program0


def instrument_mask(size: int, program0: int, instruments: Iterable[int] | None = None) -> np.ndarray:
    """Which of a vocabulary's `size` tokens may be drawn: all, or with `instruments` (1-based GM
    programs) only the instrument changes to those."""
    permitted = np.ones(size, dtype=np.bool_)
    if instruments is not None:
        programs = [int(p) for p in instruments]
        if not programs or any(not 1 <= p <= GM_PROGRAMS for p in programs):
            raise SonataError(
                f"instruments {programs}: a piece needs at least one, each a 1-based GM program (1-128)"
            )
        permitted[program0 : program0 + GM_PROGRAMS] = False
        permitted[[program0 + p - 1 for p in programs]] = True
    return permitted


@numba.njit(cache=True)
def choose(logits, allowed, temperature, top_p, u):
    """A token drawn from softmax(logits / temperature) over the allowed tokens, cut to the
    smallest set holding top_p of the probability (nucleus); u is a uniform draw in [0, 1)."""
    n = logits.shape[0]
    probs = np.zeros(n)
    top = -1e30
    for k in range(n):
        if allowed[k] and logits[k] > top:
            top = logits[k]
    total = 0.0
    for k in range(n):
        if allowed[k]:
            probs[k] = np.exp((logits[k] - top) / temperature)
            total += probs[k]
    order = np.argsort(-probs)
    kept = 0.0
    cut = n
    for i in range(n):
        kept += probs[order[i]] / total
        if kept >= top_p:
            cut = i + 1
            break
    mass = 0.0
    for i in range(cut):
        mass += probs[order[i]]
    target = u * mass
    acc = 0.0
    for i in range(cut):
        acc += probs[order[i]]
        if acc >= target:
            return order[i]
    return order[cut - 1]
