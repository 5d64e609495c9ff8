"""The beat_lstm composer's network and sampler: an LSTM language model over beat-grid note
events (models.notes.beats) whose pitch output is coded relative to what came before.

Each step reads the previous token and what the events so far imply (`advance`, one function
for training and sampling): the previous note's key, the position in the bar (grid steps modulo
four beats), the pitch classes sounding now, a decaying pitch-class profile of the recent notes
(the key) and a running mean pitch (the register). The logits are a dense layer over every
token plus, on the NOTE tokens, four terms that share their weights across keys:
  * interval: a logit per interval from the previous note (the line, the chord's spacing);
  * register: a logit per interval from the running mean pitch;
  * key: a logit per scale degree in each mode (24, from the LSTM state), weighted by the key
    posterior (Krumhansl-Kessler correlations of the profile, softmaxed): transposition-free, and
    it favours a key's scale, not the pitch classes just heard (copying those made the sampled
    pieces collapse onto one pitch class).
Sampling runs the same weights in numba, carrying the LSTM state and the events' state through
the primer and the whole piece, one token at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import keras
import numba
import numpy as np
from keras import layers, ops

from models.nets.lstm import lstm_step, lstm_weights
from models.nets.sampling import choose, instrument_mask
from models.notes.beats import BeatVocabulary
from models.notes.keyboard import KEYS, LOWEST
from sonata import SonataError

INTERVALS = 2 * KEYS - 1  # -87 .. +87 semitones
PROFILE_DECAY = 0.95  # the key profile's weight of the previous notes, per note
CENTRE_DECAY = 0.9  # the running mean pitch's weight of the previous notes, per note
BAR_BEATS = 4  # the position input counts grid steps modulo this many beats
MAX_CHORD = 12  # composing: notes one onset may hold (the corpus has at most 10)
MAX_NOTE_BEATS = 16  # composing: the longest note (beats): no more DURATION tokens past it
# event state: [time, previous key, centre, last note's key, previous token, notes at this onset,
# profile 12, end 88]
TIME, PREVIOUS, CENTRE, LAST, TOKEN, CHORD, PROFILE, END = 0, 1, 2, 3, 4, 5, 6, 18
STATE = END + KEYS
NO_NOTE = KEYS  # the previous-key input before any note
# Krumhansl-Kessler key profiles (major, minor; from the tonic up): the key the profile implies
KEY_PROFILES = np.array(
    [
        [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88],
        [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17],
    ]
)
KEY_SHARPNESS = 10.0  # the key posterior: softmax of this times the 24 profile correlations


def vocabulary_constants(vocabulary: BeatVocabulary) -> np.ndarray:
    """What the numba functions need of a vocabulary, as one int64 array."""
    return np.array(
        [
            vocabulary.shift0,
            vocabulary.note0,
            vocabulary.duration0,
            vocabulary.program0,
            vocabulary.tempo0,
            vocabulary.size,
            vocabulary.max_duration,
            vocabulary.grid * BAR_BEATS,
            vocabulary.grid * vocabulary.tempo_every,
        ],
        dtype=np.int64,
    )


@numba.njit(cache=True)
def initial_state():
    state = np.zeros(STATE)
    state[PREVIOUS] = -1.0
    state[CENTRE] = 60.0 - LOWEST
    state[LAST] = -1.0
    state[END:] = -1.0
    return state


@numba.njit(cache=True)
def advance(state, token, constants):
    """The event state after one more token, in place."""
    shift0, note0, duration0, program0, tempo0 = (
        constants[0],
        constants[1],
        constants[2],
        constants[3],
        constants[4],
    )
    span = constants[8]
    if shift0 <= token < note0:
        state[TIME] += token - shift0 + 1
        state[LAST] = -1.0
        state[CHORD] = 0.0
    elif note0 <= token < duration0:
        key = token - note0
        state[PREVIOUS] = key
        state[LAST] = key
        state[END + key] = state[TIME]
        state[CHORD] += 1.0
        for k in range(12):
            state[PROFILE + k] *= PROFILE_DECAY
        state[PROFILE + (key + LOWEST) % 12] += 1.0
        state[CENTRE] = CENTRE_DECAY * state[CENTRE] + (1.0 - CENTRE_DECAY) * key
    elif duration0 <= token < program0:
        if state[LAST] >= 0:
            state[END + int(state[LAST])] += token - duration0 + 1
    elif token >= tempo0:  # TEMPO stands on a multiple of `span`: it places the bar lines
        snapped = np.floor(state[TIME] / span + 0.5) * span
        moved = snapped - state[TIME]
        state[TIME] = snapped
        for k in range(KEYS):
            if state[END + k] >= 0:
                state[END + k] += moved
        state[LAST] = -1.0
    else:
        state[LAST] = -1.0 if token != 0 else state[LAST]
    state[TOKEN] = token


@numba.njit(cache=True)
def key_posterior(profile, out):
    """In place: softmax over the 24 keys (12 major, then 12 minor, by tonic) of KEY_SHARPNESS
    times the correlation of the profile with each key's profile; uniform for an empty one."""
    total = 0.0
    for k in range(12):
        total += profile[k]
    if total <= 0:
        for k in range(24):
            out[k] = 1.0 / 24
        return
    pm = total / 12
    pv = 0.0
    for k in range(12):
        pv += (profile[k] - pm) ** 2
    best = -1e30
    for mode in range(2):
        km = KEY_PROFILES[mode].mean()
        kv = 0.0
        for k in range(12):
            kv += (KEY_PROFILES[mode, k] - km) ** 2
        for tonic in range(12):
            cov = 0.0
            for k in range(12):
                cov += (profile[(tonic + k) % 12] - pm) * (KEY_PROFILES[mode, k] - km)
            r = cov / np.sqrt(pv * kv) if pv > 0 else 0.0
            out[mode * 12 + tonic] = KEY_SHARPNESS * r
            best = max(best, KEY_SHARPNESS * r)
    norm = 0.0
    for k in range(24):
        out[k] = np.exp(out[k] - best)
        norm += out[k]
    for k in range(24):
        out[k] /= norm


def key_index() -> np.ndarray:
    """(24, 12) int: the scale degree tap (mode * 12 + degree) each pitch class takes in each
    key (12 major, then 12 minor, by tonic)."""
    out = np.empty((24, 12), dtype=np.int64)
    for k in range(24):
        mode, tonic = divmod(k, 12)
        for c in range(12):
            out[k, c] = mode * 12 + (c - tonic) % 12
    return out


@numba.njit(cache=True)
def features(state, bar, sounding, profile):
    """(previous key or NO_NOTE, position in the bar, running mean key) and, in place, the
    pitch classes sounding now and the normalised key profile."""
    for k in range(12):
        sounding[k] = 0.0
    for k in range(KEYS):
        if state[END + k] > state[TIME]:
            sounding[(k + LOWEST) % 12] = 1.0
    total = 0.0
    for k in range(12):
        total += state[PROFILE + k]
    for k in range(12):
        profile[k] = state[PROFILE + k] / total if total > 0 else 0.0
    previous = int(state[PREVIOUS]) if state[PREVIOUS] >= 0 else NO_NOTE
    position = int(state[TIME]) % bar
    centre = int(np.floor(state[CENTRE] + 0.5))
    return previous, position, centre


@numba.njit(cache=True)
def scan(tokens, constants):
    """Per token, the inputs that go with it (the state after it): previous key, position,
    centre (n, 3) int32, sounding, profile (n, 12) and key posterior (n, 24) float32."""
    n = tokens.shape[0]
    ints = np.empty((n, 3), dtype=np.int32)
    sounding = np.zeros((n, 12), dtype=np.float32)
    profile = np.zeros((n, 12), dtype=np.float32)
    keys = np.zeros((n, 24), dtype=np.float32)
    state = initial_state()
    s = np.zeros(12)
    p = np.zeros(12)
    q = np.zeros(24)
    for i in range(n):
        advance(state, tokens[i], constants)
        a, b, c = features(state, constants[7], s, p)
        key_posterior(p, q)
        ints[i, 0], ints[i, 1], ints[i, 2] = a, b, c
        for k in range(12):
            sounding[i, k] = s[k]
            profile[i, k] = p[k]
        for k in range(24):
            keys[i, k] = q[k]
    return ints, sounding, profile, keys


def transposed(tokens: np.ndarray, vocabulary: BeatVocabulary, semitones: int) -> np.ndarray:
    """The tokens with every NOTE moved by `semitones`, folded by octaves into the keys."""
    tokens = np.array(tokens, dtype=np.int32)
    notes = (tokens >= vocabulary.note0) & (tokens < vocabulary.duration0)
    key = tokens[notes] - vocabulary.note0 + semitones
    key = np.where(key < 0, key + 12 * ((-key + 11) // 12), key)
    key = np.where(key >= KEYS, key - 12 * ((key - KEYS + 12) // 12), key)
    tokens[notes] = vocabulary.note0 + key
    return tokens


def sequence_inputs(
    tokens: np.ndarray, vocabulary: BeatVocabulary, semitones: int = 0
) -> dict[str, np.ndarray]:
    """A whole sequence (START, then its tokens, moved by `semitones`) as the network's input
    arrays and targets: the state is scanned over the whole sequence, so a window cut from it
    carries its past."""
    tokens = transposed(tokens, vocabulary, semitones) if semitones else tokens
    full = np.concatenate([[vocabulary.start], np.asarray(tokens, dtype=np.int32)]).astype(np.int32)
    ints, sounding, profile, keys = scan(full, vocabulary_constants(vocabulary))
    return {
        "token": full[:-1],
        "previous": ints[:-1, 0],
        "position": ints[:-1, 1],
        "centre": ints[:-1, 2],
        "sounding": sounding[:-1],
        "profile": profile[:-1],
        "key": keys[:-1],
        "target": full[1:],
    }


class NoteLogits(layers.Layer):
    """The logits over every token: a dense layer plus, on the NOTE tokens, the interval,
    register and key terms of the module's docstring."""

    def __init__(self, vocab_size: int, note0: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.note0 = vocab_size, note0
        # its parts compute in the layer's own dtype (float32 under a mixed-precision policy)
        policy = self.dtype_policy
        self.dense = layers.Dense(vocab_size, name="tokens", dtype=policy)
        self.interval = layers.Dense(INTERVALS, name="interval", dtype=policy)
        self.register = layers.Dense(INTERVALS, name="register", dtype=policy)
        self.key = layers.Dense(24, name="key", dtype=policy)

    def build(self, shapes):
        h = shapes[0]
        for layer in (self.dense, self.interval, self.register, self.key):
            layer.build(h)

    def call(self, inputs):
        h, previous, centre, key = inputs
        keys = ops.arange(KEYS, dtype="int32")
        reference = ops.where(previous < NO_NOTE, previous, centre)
        by_interval = ops.take_along_axis(
            self.interval(h), keys[None, None, :] - ops.expand_dims(reference, -1) + KEYS - 1, axis=-1
        )
        by_register = ops.take_along_axis(
            self.register(h), keys[None, None, :] - ops.expand_dims(centre, -1) + KEYS - 1, axis=-1
        )
        degrees = ops.take(self.key(h), ops.convert_to_tensor(key_index().astype("int32")), axis=-1)
        classes = ops.einsum("btk,btkc->btc", key, degrees)  # (batch, time, 12)
        by_class = ops.take(classes, ops.convert_to_tensor((np.arange(KEYS) + LOWEST) % 12), axis=-1)
        notes = by_interval + by_register + by_class
        logits = self.dense(h)
        return ops.concatenate(
            [
                logits[..., : self.note0],
                logits[..., self.note0 : self.note0 + KEYS] + notes,
                logits[..., self.note0 + KEYS :],
            ],
            axis=-1,
        )


def build_composer(
    vocab_size: int, note0: int, bar: int, units: int, embedding: int, dropout: float = 0.0
) -> keras.Model:
    """Logits (batch, time, vocab) of each next token for sequences of any length."""
    token = keras.Input((None,), dtype="int32", name="token")
    previous = keras.Input((None,), dtype="int32", name="previous")
    position = keras.Input((None,), dtype="int32", name="position")
    centre = keras.Input((None,), dtype="int32", name="centre")
    sounding = keras.Input((None, 12), dtype="float32", name="sounding")
    profile = keras.Input((None, 12), dtype="float32", name="profile")
    key = keras.Input((None, 24), dtype="float32", name="key")
    x = layers.Concatenate(name="inputs")(
        [
            layers.Embedding(vocab_size, embedding, name="token_embedding")(token),
            layers.Embedding(KEYS + 1, 16, name="previous_embedding")(previous),
            layers.Embedding(bar, 16, name="position_embedding")(position),
            sounding,
            profile,
            key,
        ]
    )
    h = layers.LSTM(units, return_sequences=True, dropout=dropout, name="lstm")(x)
    h = layers.Dropout(dropout, name="dropout")(h)
    logits = NoteLogits(vocab_size, note0, name="logits", dtype="float32")([h, previous, centre, key])
    return keras.Model([token, previous, position, centre, sounding, profile, key], logits, name="beat_lstm")


INPUTS = ("token", "previous", "position", "centre", "sounding", "profile", "key")


def compiled_composer(
    vocabulary: BeatVocabulary, units: int, embedding: int, learning_rate: float, dropout: float = 0.0
) -> keras.Model:
    """The network, compiled for teacher-forced training (Adam, cross-entropy over the next
    token); dropout on the LSTM's inputs and outputs in training only."""
    model = build_composer(
        vocabulary.size, vocabulary.note0, vocabulary.grid * BAR_BEATS, units, embedding, dropout
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def window_batch(sequences: list[dict], window: int, batch: int, rng: np.random.Generator):
    """Random windows of `window` steps from the scanned sequences (sequence_inputs), a
    sequence drawn in proportion to the windows it holds: (inputs, targets)."""
    room = np.array([max(0, len(s["token"]) - window + 1) for s in sequences], dtype=float)
    picks = rng.choice(len(sequences), batch, p=room / room.sum())
    starts = [int(rng.integers(0, room[k])) for k in picks]
    inputs = {
        name: np.stack([sequences[k][name][s : s + window] for k, s in zip(picks, starts)]) for name in INPUTS
    }
    targets = np.stack([sequences[k]["target"][s : s + window] for k, s in zip(picks, starts)])
    return inputs, targets


def sequence_bits(model: keras.Model, sequences: list[dict]) -> float:
    """Total bits of the sequences' tokens, each read whole from the start (as sampling does)."""
    total = 0.0
    for s in sequences:
        logits = model.predict_on_batch({name: s[name][None] for name in INPUTS})[0]
        logits = logits - logits.max(axis=-1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=-1))
        total += float((log_norm - logits[np.arange(len(logits)), s["target"]]).sum() / np.log(2.0))
    return total


# which token kind may follow which (rows: previous kind; start, shift, note, duration, program,
# tempo): a note is always followed by its duration
GRAMMAR = np.array(
    [
        [0, 1, 1, 0, 1, 1],
        [0, 1, 1, 0, 1, 1],
        [0, 0, 0, 1, 0, 0],
        [0, 1, 1, 1, 1, 1],
        [0, 0, 1, 0, 0, 0],
        [0, 1, 1, 0, 1, 0],
    ],
    dtype=np.bool_,
)


@numba.njit(cache=True)
def _step(token, state, h, c, weights, constants, z, x, logits, sounding, profile, key, index):
    """Feed one token: the event state and the LSTM state move on, and `logits` hold the
    next token's."""
    (
        emb,
        prev_emb,
        pos_emb,
        kernel,
        recurrent,
        bias,
        dense_w,
        dense_b,
        int_w,
        int_b,
        reg_w,
        reg_b,
        key_w,
        key_b,
    ) = weights
    advance(state, token, constants)
    previous, position, centre = features(state, constants[7], sounding, profile)
    key_posterior(profile, key)
    e, pe, qe = emb.shape[1], prev_emb.shape[1], pos_emb.shape[1]
    x[:e] = emb[token]
    x[e : e + pe] = prev_emb[previous]
    x[e + pe : e + pe + qe] = pos_emb[position]
    x[e + pe + qe : e + pe + qe + 12] = sounding
    x[e + pe + qe + 12 : e + pe + qe + 24] = profile
    x[e + pe + qe + 24 :] = key
    lstm_step(x, h, c, kernel, recurrent, bias, z)
    units = h.shape[0]
    for k in range(logits.shape[0]):
        acc = dense_b[k]
        for u in range(units):
            acc += h[u] * dense_w[u, k]
        logits[k] = acc
    reference = previous if previous < NO_NOTE else centre
    taps = np.empty(24, dtype=np.float32)
    for j in range(24):
        a = key_b[j]
        for u in range(units):
            a += h[u] * key_w[u, j]
        taps[j] = a
    classes = np.zeros(12, dtype=np.float32)
    for k in range(24):
        for cl in range(12):
            classes[cl] += key[k] * taps[index[k, cl]]
    note0 = constants[1]
    for k in range(KEYS):
        i1 = k - reference + KEYS - 1
        i2 = k - centre + KEYS - 1
        a = int_b[i1] + reg_b[i2]
        for u in range(units):
            a += h[u] * (int_w[u, i1] + reg_w[u, i2])
        logits[note0 + k] += a + classes[(k + LOWEST) % 12]


@numba.njit(cache=True)
def _allowed(state, constants, kinds, grammar, permitted, tempo_token, allowed):
    """Which tokens may follow: the grammar, `permitted`, SHIFTs that stop at the next TEMPO
    boundary, a DURATION after a DURATION only after a full one and within MAX_NOTE_BEATS, no
    NOTE or PROGRAM past MAX_CHORD notes at one onset, and TEMPO (the piece's own) exactly when
    a SHIFT has reached a boundary."""
    shift0, duration0 = constants[0], constants[2]
    max_duration, span = constants[6], constants[8]
    last = int(state[TOKEN])
    previous_kind = kinds[last]
    time = int(state[TIME])
    at_boundary = previous_kind == 1 and time % span == 0
    room = span - time % span
    chord_full = state[CHORD] >= MAX_CHORD and previous_kind != 4  # after a PROGRAM, its NOTE
    held = state[END + int(state[LAST])] - time if state[LAST] >= 0 else 0.0  # the note's length so far
    longest = held >= MAX_NOTE_BEATS * constants[7] // BAR_BEATS
    for k in range(allowed.shape[0]):
        allowed[k] = grammar[previous_kind, kinds[k]] and permitted[k]
        if kinds[k] == 5:
            allowed[k] = False
        elif at_boundary:
            allowed[k] = False
        elif kinds[k] == 1 and k - shift0 + 1 > room:
            allowed[k] = False
        elif kinds[k] == 3 and previous_kind == 3 and (last != duration0 + max_duration - 1 or longest):
            allowed[k] = False
        elif (kinds[k] == 2 or kinds[k] == 4) and chord_full:
            allowed[k] = False
    if at_boundary:
        allowed[tempo_token] = True


# the home key's scale (from the tonic up): major; minor with both sixths and sevenths
HOME_SCALES = np.array(
    [[1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], [1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1]], dtype=np.float64
)


@numba.njit(cache=True)
def _home_bias(primer, constants, weight):
    """Per key of the keyboard: -`weight` where its pitch class lies outside the scale of the
    primer's key (the best of the 24 Krumhansl-Kessler keys for all its notes), else 0; all 0
    without notes or weight."""
    bias = np.zeros(KEYS, dtype=np.float32)
    counts = np.zeros(12)
    note0, duration0 = constants[1], constants[2]
    for token in primer:
        if note0 <= token < duration0:
            counts[(token - note0 + LOWEST) % 12] += 1.0
    if weight == 0 or counts.sum() == 0:
        return bias
    posterior = np.empty(24)
    key_posterior(counts, posterior)
    mode, tonic = divmod(int(np.argmax(posterior)), 12)
    for k in range(KEYS):
        bias[k] = -weight * (1.0 - HOME_SCALES[mode, (k + LOWEST - tonic) % 12])
    return bias


PLAN_DRAWS = 3  # uniform draws per token: the plan's (reprise or not), its source, a variation


@numba.njit(cache=True)
def _compose(
    primer,
    max_new,
    stop_time,
    weights,
    constants,
    kinds,
    grammar,
    permitted,
    tempo_token,
    temperature,
    top_p,
    uniforms,
    index,
    phrase_steps,
    reprise,
    variation,
    plan_uniforms,
    home_weight,
):
    """Feed START and the primer, then draw tokens until the grid time passes `stop_time` steps
    after the primer (or max_new tokens).

    The plan above the notes: the piece falls into phrases of `phrase_steps` grid steps, counted
    on the grid the primer's TEMPO tokens set (multiples of `tempo_every` beats from the
    primer's start: on bar lines when a phrase is one TEMPO span, as by default). With
    probability `reprise` a phrase restates one of the piece's own earlier whole phrases (drawn
    alike), token by token through the network, each of its notes redrawn with probability
    `variation` (a varied reprise, not a loop); a restated token the rules no longer allow ends
    the reprise there. The primer is never restated: what returns is the composer's own
    material. The home key: every NOTE outside the scale of the whole primer's key (_home_bias)
    loses `home_weight` from its logit, so the piece keeps a tonic to return to as its local key
    moves."""
    units = weights[4].shape[0]
    h = np.zeros(units, dtype=np.float32)
    c = np.zeros(units, dtype=np.float32)
    z = np.empty(4 * units, dtype=np.float32)
    x = np.empty(weights[3].shape[0], dtype=np.float32)
    logits = np.empty(weights[6].shape[1], dtype=np.float32)
    allowed = np.empty(weights[6].shape[1], dtype=np.bool_)
    notes_only = np.empty(weights[6].shape[1], dtype=np.bool_)
    sounding = np.zeros(12, dtype=np.float32)
    profile = np.zeros(12, dtype=np.float32)
    key = np.zeros(24, dtype=np.float32)
    state = initial_state()
    _step(0, state, h, c, weights, constants, z, x, logits, sounding, profile, key, index)
    for t in range(primer.shape[0]):
        _step(primer[t], state, h, c, weights, constants, z, x, logits, sounding, profile, key, index)
    start = state[TIME]
    home = _home_bias(primer, constants, home_weight)
    note0 = constants[1]
    for k in range(KEYS):
        logits[note0 + k] += home[k]
    out = np.empty(max_new, dtype=np.int32)
    phrase_starts = np.empty(max_new, dtype=np.int64)  # index in `out` of each phrase's first token
    phrases = 0
    source, source_end = -1, -1  # the earlier tokens being restated: out[source:source_end]
    made = 0
    while made < max_new and state[TIME] - start < stop_time:
        _allowed(state, constants, kinds, grammar, permitted, tempo_token, allowed)
        u_plan, u_source, u_vary = plan_uniforms[made]
        token = -1
        if source >= 0:
            candidate = out[source]
            source += 1
            if source >= source_end:
                source = -1
            if not allowed[candidate]:
                source = -1
            elif kinds[candidate] == 2 and u_vary < variation:
                for k in range(allowed.shape[0]):
                    notes_only[k] = allowed[k] and kinds[k] == 2
                token = choose(logits, notes_only, temperature, top_p, uniforms[made])
            else:
                token = candidate
        if token < 0:
            token = choose(logits, allowed, temperature, top_p, uniforms[made])
        out[made] = token
        made += 1
        _step(token, state, h, c, weights, constants, z, x, logits, sounding, profile, key, index)
        for k in range(KEYS):
            logits[note0 + k] += home[k]
        if phrase_steps > 0 and kinds[token] == 5 and state[TIME] % phrase_steps == 0:
            # a phrase ends: its closing TEMPO is out[made - 1]; the next one starts here
            phrase_starts[phrases] = made
            phrases += 1
            source = -1
            if phrases >= 2 and u_plan < reprise:
                j = int(u_source * (phrases - 1))  # a whole earlier phrase: 0 .. phrases - 2
                source, source_end = phrase_starts[j], phrase_starts[j + 1] - 1
    return out[:made]


class BeatComposerSampler:
    """Note tokens from a trained beat_lstm composer, seeded and reproducible: the LSTM and the
    events' state run through the primer and then the whole piece."""

    def __init__(
        self,
        model: keras.Model,
        vocabulary: BeatVocabulary,
        past: int,
        phrase_beats: int = 0,
        reprise: float = 0.0,
        variation: float = 0.0,
        home_weight: float = 0.0,
    ):
        def array(layer, i):
            return np.ascontiguousarray(np.asarray(layer.get_weights()[i], dtype=np.float32))

        logits = model.get_layer("logits")
        kernel, recurrent, bias = lstm_weights(model, "lstm")
        self.weights = (
            array(model.get_layer("token_embedding"), 0),
            array(model.get_layer("previous_embedding"), 0),
            array(model.get_layer("position_embedding"), 0),
            kernel,
            recurrent,
            bias,
            *(
                array(layer, i)
                for layer in (logits.dense, logits.interval, logits.register, logits.key)
                for i in (0, 1)
            ),
        )
        self.vocabulary = vocabulary
        self.past = past
        if phrase_beats % vocabulary.tempo_every:
            raise SonataError(
                f"phrase_beats {phrase_beats} is no multiple of tempo_every {vocabulary.tempo_every}: "
                "a phrase must end where a TEMPO token stands (notes.composer.beat_lstm)"
            )
        self.phrase_beats = phrase_beats  # the plan's phrase length (beats); 0: no plan
        self.reprise = reprise  # the probability that a phrase restates an earlier one
        self.variation = variation  # the probability that a restated note is drawn anew
        self.home_weight = home_weight  # the home key's pull on every note's logit
        self.constants = vocabulary_constants(vocabulary)
        self.kinds = vocabulary.kinds()

    def permitted(self, instruments: Iterable[int] | None = None) -> np.ndarray:
        """Which tokens may be drawn: all, or with `instruments` (1-based GM programs) only the
        instrument changes to those."""
        v = self.vocabulary
        permitted = instrument_mask(v.size, v.program0, instruments)
        permitted[v.start] = False
        return permitted

    def compose(
        self,
        primer: np.ndarray,
        seconds: float,
        temperature: float,
        top_p: float,
        seed: int,
        progress: Callable[[int], None] | None = None,
        instruments: Iterable[int] | None = None,
    ) -> np.ndarray:
        """Tokens after a primer until they span `seconds` at the primer's tempo, led by that
        TEMPO token (the decoded piece plays at it); with `instruments` (1-based GM programs),
        played by those alone."""
        v = self.vocabulary
        primer = np.asarray(primer, dtype=np.int32)[-self.past :]
        tempo = v.last_tempo(primer)
        tempo = v.tempo_token(v.fallback_bpm) if tempo is None else tempo
        steps = int(np.ceil(seconds * v.token_bpm(tempo) / 60.0 * v.grid))
        max_new = 64 * steps + 64  # a bound: the grid moves on long before
        rng = np.random.default_rng(seed)
        tokens = _compose(
            primer,
            max_new,
            steps,
            self.weights,
            self.constants,
            self.kinds,
            GRAMMAR,
            self.permitted(instruments),
            tempo,
            float(temperature),
            float(top_p),
            rng.random(max_new),
            key_index(),
            int(self.phrase_beats * v.grid),
            float(self.reprise),
            float(self.variation),
            np.random.default_rng([seed, 1]).random((max_new, PLAN_DRAWS)),
            float(self.home_weight),
        )
        if progress is not None:
            progress(len(tokens))
        return np.concatenate([[tempo], tokens]).astype(np.int32)


def load_composer(card, weights_path: str) -> keras.Model:
    vocabulary = BeatVocabulary(**card.scheme["vocabulary"])
    model = build_composer(
        vocabulary.size,
        vocabulary.note0,
        vocabulary.grid * BAR_BEATS,
        card.model["units"],
        card.model["embedding"],
    )
    model.load_weights(weights_path)
    return model
