"""WaveNet generation from trained weights: each layer's past inputs in a ring buffer, so one
new sample costs O(layers) rather than a pass over the whole receptive field (numba)."""

from __future__ import annotations

from typing import NamedTuple

import keras
import numba
import numpy as np

from models.nets.wavenet.spec import WaveNetSpec


class WaveNetArrays(NamedTuple):
    """Every weight the incremental loop reads, laid out per layer; numba takes it as one tuple."""

    in_w: np.ndarray  # (kernel, 1, C) causal input convolution
    in_b: np.ndarray
    dil_w: np.ndarray  # (layers, kernel, C, 2C) dilated convolutions
    dil_b: np.ndarray
    res_w: np.ndarray  # (layers, C, C) 1x1 residual; zeros for the last layer
    res_b: np.ndarray
    skip_w: np.ndarray  # (layers, C, S) 1x1 skip
    skip_b: np.ndarray
    post_w: np.ndarray  # (S, S)
    post_b: np.ndarray
    logit_w: np.ndarray  # (S, Q)
    logit_b: np.ndarray
    dilations: np.ndarray  # int64 per layer
    guide_w: np.ndarray  # (layers, G, 2C) 1x1 from the pitch guide to the gates; G = 0 without


class WaveNetWeights:
    """The trained weights rearranged for the incremental loop."""

    def __init__(self, model: keras.Model, spec: WaveNetSpec):
        get = lambda name: [np.asarray(w, dtype=np.float32) for w in model.get_layer(name).get_weights()]  # noqa: E731
        dilations = spec.dilations
        n = len(dilations)
        self.dilations = np.asarray(dilations, dtype=np.int64)
        self.kernel = spec.kernel_size
        self.in_w, self.in_b = get("input_conv")
        self.dil_w = np.stack([get(f"dilated_{i}")[0] for i in range(n)])
        self.dil_b = np.stack([get(f"dilated_{i}")[1] for i in range(n)])
        channels = self.in_w.shape[2]
        residual = [get(f"residual_{i}") for i in range(n - 1)]
        residual.append([np.zeros((1, channels, channels), np.float32), np.zeros(channels, np.float32)])
        self.res_w = np.stack([w[0][0] for w in residual])
        self.res_b = np.stack([w[1] for w in residual])
        self.skip_w = np.stack([get(f"skip_{i}")[0][0] for i in range(n)])
        self.skip_b = np.stack([get(f"skip_{i}")[1] for i in range(n)])
        post_w, self.post_b = get("post")
        self.post_w = post_w[0]
        logit_w, self.logit_b = get("logits")
        self.logit_w = logit_w[0]
        q = spec.quantization_channels
        names = [layer.name for layer in model.layers]
        # the input the network reads for each mu-law code: its companded value or its embedding
        self.input_table = (
            get("input_embedding")[0]
            if "input_embedding" in names
            else (2.0 * np.arange(q, dtype=np.float32) / (q - 1) - 1.0)[:, None]
        )
        self.embedded_input = "input_embedding" in names
        self.frame_samples = max(1, spec.frame_samples)
        self.local_hidden = [get(f"local_hidden_{k}") for k in range(2)] if "local_hidden_0" in names else []
        self.local_w = np.stack([get(f"local_{i}")[0][0] for i in range(n)]) if self.local_hidden else None
        self.guide_w = (
            np.stack([get(f"guide_{i}")[0][0] for i in range(n)])
            if "guide_0" in names
            else np.zeros((n, 0, self.dil_w.shape[-1]), np.float32)
        )
        self.n_conditions = 0
        if "condition_embedding" in names:
            self.embedding = get("condition_embedding")[0]
            self.condition_w = np.stack([get(f"condition_{i}")[0] for i in range(n)])
            self.n_conditions = len(self.embedding)

    def condition_bias(
        self, condition_ids: np.ndarray | None, batch: int, notes: np.ndarray | None = None
    ) -> np.ndarray:
        """Per-sequence, per-frame, per-layer gate bias (batch, frames, layers, 2C): the notes'
        frames (one frame without notes) plus the sequence's global condition; zeros without."""
        width = self.dil_w.shape[-1]
        frames = 1 if notes is None else notes.shape[1]
        bias = np.zeros((batch, frames, len(self.dilations), width), dtype=np.float32)
        if self.local_hidden and notes is not None:
            hidden = np.asarray(notes, dtype=np.float32)
            for kernel, b in self.local_hidden:
                hidden = np.tanh(_conv_same(hidden, kernel) + b)
            bias += np.einsum("bfh,lho->bflo", hidden, self.local_w)
        if self.n_conditions and condition_ids is not None:
            emb = self.embedding[np.asarray(condition_ids)]  # (batch, C)
            bias += np.einsum("bc,lco->blo", emb, self.condition_w)[:, None]
        return bias.astype(np.float32)

    def input_features(self, x: np.ndarray) -> np.ndarray:
        """(batch, time, F) network input for model inputs x: companded audio or mu-law codes."""
        if self.embedded_input:
            return self.input_table[np.asarray(x, dtype=np.int64)]
        return np.asarray(x, dtype=np.float32)[..., None]

    def arrays(self) -> WaveNetArrays:
        return WaveNetArrays(
            self.in_w,
            self.in_b,
            self.dil_w,
            self.dil_b,
            self.res_w,
            self.res_b,
            self.skip_w,
            self.skip_b,
            self.post_w,
            self.post_b,
            self.logit_w,
            self.logit_b,
            self.dilations,
            self.guide_w,
        )


def _conv_same(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Keras' Conv1D with padding='same' (odd kernel) over (batch, time, in) without bias."""
    width = kernel.shape[0]
    padded = np.pad(x, ((0, 0), (width // 2, width // 2), (0, 0)))
    return sum(padded[:, j : j + x.shape[1]] @ kernel[j] for j in range(width))


@numba.njit(cache=True, fastmath=True)
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@numba.njit(cache=True)
def _step(t, x_value, b, state, inputs, cond, guide, frame_samples, weights, logits_out, scratch):
    """Advance sequence b by one input (feature vector x_value) at time t; write next-sample
    logits. The gates take frame t // frame_samples of cond (the last frame after the end) and
    sample t of the pitch guide (batch, samples, G; G = 0 without one; the last after the end).

    scratch (5, width) holds the per-step vectors, so the hot loop allocates nothing.
    """
    (
        in_w,
        in_b,
        dil_w,
        dil_b,
        res_w,
        res_b,
        skip_w,
        skip_b,
        post_w,
        post_b,
        logit_w,
        logit_b,
        dilations,
        guide_w,
    ) = weights
    kernel = in_w.shape[0]
    channels = in_w.shape[2]
    skip_channels = skip_w.shape[2]
    size = state.shape[2]
    inputs[b, t % size, :] = x_value
    h = scratch[0, :channels]
    h[:] = in_b
    for j in range(kernel):
        lag = kernel - 1 - j
        if t - lag >= 0:
            xv = inputs[b, (t - lag) % size]
            for f in range(xv.shape[0]):
                v = xv[f]
                for c in range(channels):
                    h[c] += v * in_w[j, f, c]
    frame = min(t // frame_samples, cond.shape[1] - 1)
    at = min(t, guide.shape[1] - 1)
    skip = scratch[1, :skip_channels]
    skip[:] = 0.0
    z = scratch[2, : 2 * channels]
    gated = scratch[3, :channels]
    for layer in range(dilations.shape[0]):
        state[b, layer, t % size, :] = h
        d = dilations[layer]
        for o in range(2 * channels):
            z[o] = dil_b[layer, o] + cond[b, frame, layer, o]
        for g in range(guide.shape[2]):
            v = guide[b, at, g]
            for o in range(2 * channels):
                z[o] += v * guide_w[layer, g, o]
        for j in range(kernel):
            lag = (kernel - 1 - j) * d
            if t - lag >= 0:
                past = state[b, layer, (t - lag) % size]
                for c in range(channels):
                    v = past[c]
                    for o in range(2 * channels):
                        z[o] += v * dil_w[layer, j, c, o]
        for c in range(channels):
            gated[c] = np.tanh(z[c]) * _sigmoid(z[channels + c])
        for o in range(channels):
            h[o] += res_b[layer, o]
        for o in range(skip_channels):
            skip[o] += skip_b[layer, o]
        for c in range(channels):  # rows of the 1x1 weights are contiguous
            v = gated[c]
            for o in range(channels):
                h[o] += v * res_w[layer, c, o]
            for o in range(skip_channels):
                skip[o] += v * skip_w[layer, c, o]
    for c in range(skip_channels):
        skip[c] = max(skip[c], 0.0)
    post = scratch[4, : post_b.shape[0]]
    post[:] = post_b
    for c in range(skip_channels):
        for o in range(post.shape[0]):
            post[o] += skip[c] * post_w[c, o]
    for o in range(post.shape[0]):
        post[o] = max(post[o], 0.0)
    for q in range(logit_b.shape[0]):
        acc = logit_b[q]
        for c in range(post.shape[0]):
            acc += post[c] * logit_w[c, q]
        logits_out[q] = acc


@numba.njit(cache=True)
def _scratch(weights):
    """Room for the widest per-step vector: gates (2C), skips (S) or the post layer."""
    width = max(2 * weights.in_w.shape[2], weights.skip_w.shape[2], weights.post_b.shape[0])
    return np.empty((5, width), dtype=np.float32)


@numba.njit(cache=True)
def _feed(t0, x, state, inputs, cond, guide, frame_samples, weights, logits):
    """Run known input features x (batch, steps, F) from time t0; logits (batch, steps, Q) if
    wanted."""
    batch, steps = x.shape[0], x.shape[1]
    unused = np.empty(logits.shape[2], dtype=np.float32)
    scratch = _scratch(weights)
    for t in range(steps):
        for b in range(batch):
            out = logits[b, t] if logits.shape[1] == steps else unused
            _step(t0 + t, x[b, t], b, state, inputs, cond, guide, frame_samples, weights, out, scratch)


@numba.njit(cache=True, parallel=True)
def _sample(
    t0,
    current,
    uniforms,
    temperature,
    floor,
    guidance,
    state,
    inputs,
    cond,
    guide,
    frame_samples,
    weights,
    table,
):
    """Draw codes for each sequence, each fed back as its next input. With floor > 0, floor is
    taken off every class's probability (those under it drop out) before the draw; when none
    reaches it, the most likely class is drawn.

    Where state holds twice the sequences, row batch + b is sequence b's contrast (the same
    codes, its own conditioning) and the draw reads guided logits: l + guidance * (l - l_contrast).

    Sequences are independent, so they run on parallel threads; the random draws come in
    precomputed (uniforms), which keeps the result the same for any thread count.
    """
    batch, n_samples = uniforms.shape
    contrasted = state.shape[0] > batch
    n_classes = table.shape[0]
    codes = np.empty((batch, n_samples), dtype=np.int64)
    for b in numba.prange(batch):
        logits = np.empty(n_classes, dtype=np.float32)
        unled = np.empty(n_classes, dtype=np.float32)  # the contrast's logits
        scratch = _scratch(weights)
        value = current[b].copy()
        for i in range(n_samples):
            _step(t0 + i, value, b, state, inputs, cond, guide, frame_samples, weights, logits, scratch)
            if contrasted:
                row = batch + b
                _step(t0 + i, value, row, state, inputs, cond, guide, frame_samples, weights, unled, scratch)
                for q in range(n_classes):
                    logits[q] += guidance * (logits[q] - unled[q])
            top = logits.max()
            total = 0.0
            for q in range(n_classes):
                logits[q] = np.exp((logits[q] - top) / temperature)
                total += logits[q]
            if floor > 0.0:
                cut = min(floor * total, 0.999)  # the top class holds exp(0) = 1: it stays
                total = 0.0
                for q in range(n_classes):
                    logits[q] = max(logits[q] - cut, 0.0)
                    total += logits[q]
            u = uniforms[b, i] * total
            acc = 0.0
            pick = n_classes - 1
            for q in range(n_classes):
                acc += logits[q]
                if acc >= u:
                    pick = q
                    break
            codes[b, i] = pick
            value[:] = table[pick]
        current[b] = value
    return codes


class IncrementalWaveNet:
    """A batch of sequences advanced one sample at a time with cached per-layer state."""

    def __init__(
        self,
        weights: WaveNetWeights,
        batch: int,
        seed: int,
        condition_ids: np.ndarray | None = None,
        notes: np.ndarray | None = None,
        guide: np.ndarray | None = None,
        contrast: np.ndarray | None = None,
        guidance: float = 0.0,
    ):
        """notes: (batch, frames, local_channels) for a performer, covering every sample to come;
        guide: its pitch guide (batch, samples, G) where the network takes one.

        contrast, guidance: notes shaped like `notes` that each sequence is also heard under
        (the same samples, its own cached state), and how far every draw's logits are pushed
        from theirs towards the notes' (classifier-free guidance: l + guidance * (l - l_contrast),
        at twice the work). A performer's notes reach its gates as a bias that the audio
        history it plays can outweigh; contrasted with no notes, the notes' own part is what
        guidance amplifies."""
        if contrast is not None and (notes is None or np.shape(contrast) != np.shape(notes)):
            raise ValueError(f"contrast {np.shape(contrast)} and notes {np.shape(notes)} must match")
        rows = batch if contrast is None else 2 * batch
        size = (weights.kernel - 1) * int(weights.dilations.max()) + 1
        channels = weights.in_w.shape[2]
        self.batch = batch
        self.guidance = float(guidance)
        self.state = np.zeros((rows, len(weights.dilations), size, channels), dtype=np.float32)
        self.inputs = np.zeros((rows, size, weights.in_w.shape[1]), dtype=np.float32)
        self.cond = weights.condition_bias(condition_ids, batch, notes)
        if contrast is not None:
            self.cond = np.concatenate([self.cond, weights.condition_bias(condition_ids, batch, contrast)])
        self.frame_samples = weights.frame_samples if notes is not None else 1 << 62
        width = weights.guide_w.shape[1]
        if (guide is None) != (width == 0) or (guide is not None and guide.shape[2] != width):
            got = None if guide is None else guide.shape
            raise ValueError(f"the network takes a pitch guide of {width} channels; got {got}")
        guide = np.zeros((batch, 1, 0), np.float32) if guide is None else guide
        if contrast is not None:  # the contrast hears no pitch guide either
            guide = np.concatenate([guide, np.zeros_like(guide)])
        self.guide = np.ascontiguousarray(guide, dtype=np.float32)
        self.weights = weights.arrays()
        self.table = np.ascontiguousarray(weights.input_table, dtype=np.float32)
        self.to_features = weights.input_features
        self.n_classes = len(weights.logit_b)
        self.time = 0
        self.current: np.ndarray | None = None
        self.rng = np.random.default_rng(seed)

    def feed(self, x: np.ndarray, keep_logits: bool = False) -> np.ndarray | None:
        """Consume known model inputs (companded audio, or mu-law codes for an embedded input);
        the last one is held back as the next input. With keep_logits, the logits the draws
        would read (guided, where there is a contrast)."""
        x = np.ascontiguousarray(self.to_features(x), dtype=np.float32)
        contrasted = len(self.state) > self.batch
        heard = np.concatenate([x, x]) if contrasted else x  # a contrast hears the same samples
        steps = x.shape[1] if keep_logits else x.shape[1] - 1
        logits = np.empty((len(heard), steps if keep_logits else 0, self.n_classes), np.float32)
        _feed(
            self.time,
            np.ascontiguousarray(heard[:, :steps]),
            self.state,
            self.inputs,
            self.cond,
            self.guide,
            self.frame_samples,
            self.weights,
            logits,
        )
        self.time += steps
        self.current = None if keep_logits else x[:, -1].copy()
        if not keep_logits:
            return None
        if contrasted:
            played, contrast = logits[: self.batch], logits[self.batch :]
            return played + self.guidance * (played - contrast)
        return logits

    def sample(self, n_samples: int, temperature: float, floor: float = 0.0) -> np.ndarray:
        """Mu-law codes (batch, n_samples), continuing from everything fed so far. floor: a
        probability taken off every class before each draw, so that the many unlikely codes,
        together the hiss under the music, are never drawn (LPCNet's noise-floor cut)."""
        codes = _sample(
            self.time,
            self.current,
            self.rng.random((len(self.current), int(n_samples))),
            float(temperature),
            float(floor),
            self.guidance,
            self.state,
            self.inputs,
            self.cond,
            self.guide,
            self.frame_samples,
            self.weights,
            self.table,
        )
        self.time += n_samples
        return codes


def incremental_logits(
    weights: WaveNetWeights,
    x: np.ndarray,
    condition_ids: np.ndarray | None = None,
    notes: np.ndarray | None = None,
    guide: np.ndarray | None = None,
) -> np.ndarray:
    """Logits for every position of model inputs x (batch, time), one step at a time."""
    return IncrementalWaveNet(weights, x.shape[0], 0, condition_ids, notes, guide).feed(x, keep_logits=True)
