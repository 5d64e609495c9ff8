"""Drawing a token from logits, as every composer's numba sampler does: temperature, a mask of
the tokens the grammar allows, and nucleus (top-p) sampling."""

import numba
import numpy as np


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
