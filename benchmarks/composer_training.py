"""What a change to the seq2seq composer's training buys (its teacher-forced losses per token kind
are that composer's; the default composer's trials: docs/composer-trials.md): after a run, every
dataset's seq2seq composer is trained
again on the run's note shards, once as the config has it and once per variant asked for, under
each training seed; each is scored by its cross-entropy per token kind on the same validation
windows and by the notes it composes, set beside the held-out notes. A run's own figures hold one
piece and one training per dataset: too few to choose a composer by.

    python -m benchmarks.composer_training RESULTS --variant past=128 \\
        --variant "past=256,units=192" --seeds 1 2 --pieces 3 [--play] [--csv rows.csv]

A variant names `notes.composer` keys and their values (YAML), checked against the config's
schema. Every composer writes its pieces from the same primers and sampling seeds (those of
`benchmarks.composer_sampling`, at the config's temperature and top_p), and is scored on the same
validation targets: for a longer `past` the same tokens are predicted after a longer past, and
where variants' `future` differs only the tokens every composer predicts count. The windows come
from the validation split, which also chose each composer's kept epoch: alike for every variant.
With --play the run's performer plays every piece and its sound is measured as a run's pieces
are. Prints Markdown tables: means over seeds and pieces, with their range.
"""

from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from benchmarks.composer_sampling import MEASURES, NOTE_MEASURES  # noqa: E402

if TYPE_CHECKING:
    import keras

    from models.notes.tokens import NoteVocabulary

KINDS = {1: "shift", 2: "note", 3: "duration", 4: "program"}
LOSSES = ["loss"] + [f"loss_{k}" for k in KINDS.values()]
VALIDATION_WINDOWS = 256  # validation windows every composer is scored on
ROWS_GROUPED_BY = ("dataset", "variant")


def parse_variant(text: str) -> dict:
    """{key: value} from "past=128,units=192" (values read as YAML)."""
    overrides = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--variant {text!r}: write key=value pairs, as in past=128,units=192")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def variant_config(config: dict, overrides: dict, source: str) -> dict:
    """The config with `notes.composer` overridden, validated as the workflow would validate it."""
    from sonata import SonataError
    from sonata.config import validate_config

    changed = copy.deepcopy(config)
    changed["notes"]["composer"].update(overrides)
    described = ",".join(f"{k}={v}" for k, v in overrides.items())
    try:
        return validate_config(changed, f"{source} with notes.composer {described}")
    except SonataError as error:
        raise SystemExit(str(error)) from None


@dataclass(frozen=True)
class ValidationTargets:
    """Where every composer is scored: `starts` are (recording, first predicted token) pairs in
    `sequences`, each with the longest variant's past before it and its future after it; the
    first `scored` predicted tokens (the shortest future) count."""

    sequences: list[np.ndarray]
    starts: list[tuple[int, int]]
    scored: int


def validation_targets(
    sequences: list[np.ndarray], pasts: list[int], futures: list[int], count: int, seed: int
) -> ValidationTargets:
    """`count` target blocks drawn at random (seeded), the same for every variant's past and future."""
    past, future = max(pasts), max(futures)
    room = np.array([max(0, len(s) - past - future + 1) for s in sequences], dtype=float)
    if not room.sum():
        raise SystemExit(f"no validation recording holds {past + future} tokens: lower the variants' past")
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(sequences), count, p=room / room.sum())
    starts = [(int(k), past + int(rng.integers(0, room[k]))) for k in picks]
    return ValidationTargets(sequences, starts, min(futures))


def kind_losses(
    model: keras.Model, targets: ValidationTargets, vocabulary: NoteVocabulary
) -> dict[str, float]:
    """Mean cross-entropy (nats) of a composer's teacher-forced next-token
    predictions over the targets, in all and per kind of the token to be predicted."""
    from models.nets.note_seq2seq import teacher_forcing

    past, future = int(model.inputs[0].shape[1]), int(model.inputs[1].shape[1])
    windows = np.stack([targets.sequences[k][start - past : start + future] for k, start in targets.starts])
    (x, decoder), y = teacher_forcing(windows, past, vocabulary.start)
    logits = np.asarray(model.predict([x, decoder], batch_size=64, verbose=0), dtype=np.float64)
    logits, y = logits[:, : targets.scored], y[:, : targets.scored]
    top = logits.max(axis=-1, keepdims=True)
    log_norm = top[..., 0] + np.log(np.exp(logits - top).sum(axis=-1))
    nats = log_norm - np.take_along_axis(logits, y[..., None], axis=-1)[..., 0]
    kinds = vocabulary.kinds()[y]
    losses = {"loss": float(nats.mean())}
    for kind, name in KINDS.items():
        chosen = nats[kinds == kind]
        losses[f"loss_{name}"] = float(chosen.mean()) if chosen.size else float("nan")
    return losses


def train_and_score(
    results: str,
    dataset: str,
    config: dict,
    seed: int,
    targets: ValidationTargets,
    pieces: int,
    seconds: float,
    folder: str,
) -> tuple[dict, list[dict]]:
    """One composer trained as the run trains it (config, seed), then its losses on the targets
    and its `pieces` compositions (benchmarks.composer_sampling.compose_pieces)."""
    import keras

    from benchmarks.composer_sampling import compose_pieces
    from models.nets.note_seq2seq import load_composer
    from models.notes.composers import COMPOSERS
    from models.notes.composers.seq2seq import Seq2SeqComposer
    from models.notes.tokens import NoteVocabulary
    from models.training import TrainingConfig, TrainingOutputs
    from sonata.config import note_model_training
    from sonata.records import ModelCard

    shards = f"{results}/shards/{dataset}/notes"
    section = {**config["notes"]["composer"], "architecture": Seq2SeqComposer.name}  # what it scores
    card = COMPOSERS.named(section["architecture"]).train(
        COMPOSERS.training_settings(section),
        float(config["notes"]["frame_seconds"]),
        TrainingConfig.from_config(note_model_training(config, COMPOSERS.training_schedule(section))),
        f"{shards}/train.h5",
        f"{shards}/validation.h5",
        seed,
        TrainingOutputs(
            f"{folder}/model.weights.h5", f"{folder}/model.json", f"{folder}/history.csv", f"{folder}/work"
        ),
    )
    vocabulary = NoteVocabulary(step=float(config["notes"]["frame_seconds"]))
    model = load_composer(ModelCard.from_json(f"{folder}/model.json"), f"{folder}/model.weights.h5")
    scores = {
        "train_seconds": card.train_seconds_last_session,
        "best_val_loss": card.best_val_loss,
        **kind_losses(model, targets, vocabulary),
    }
    keras.backend.clear_session()
    composer = config["notes"]["composer"]
    setting = [(float(composer["temperature"]), float(composer["top_p"]))]
    made = compose_pieces(results, dataset, config, setting, pieces, seconds, folder=folder)
    return scores, made


def main(argv: list[str] | None = None) -> None:
    from benchmarks.composer_sampling import (
        baselines,
        held_out_of,
        play_and_measure,
        run_parser,
        summary,
    )
    from models.notes.composers.seq2seq import token_sequences
    from models.notes.tokens import NoteVocabulary
    from sonata.analysis import note_statistics
    from sonata.config import read_config

    parser = run_parser(__doc__)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="notes.composer keys to change, key=value[,key=value] (repeat for more variants)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="training seeds (default: the config's seed)")
    parser.add_argument("--pieces", type=int, default=3, help="pieces per composer (default: 3)")
    parser.add_argument("--seconds", type=float, help="each piece's length (default: the longest duration)")
    parser.add_argument("--play", action="store_true", help="the run's performer plays every piece")
    parser.add_argument("--csv", help="also write one row per piece here")
    args = parser.parse_args(argv)
    if args.pieces < 1:
        parser.error("--pieces: at least 1")
    config = read_config(args.config)
    variants = {"config": config} | {
        text: variant_config(config, parse_variant(text), args.config) for text in args.variant
    }
    seeds = args.seeds or [int(config["seed"])]
    seconds = args.seconds or float(max(config["generation"]["durations"]))
    composers = [v["notes"]["composer"] for v in variants.values()]
    vocabulary = NoteVocabulary(step=float(config["notes"]["frame_seconds"]))
    held_out = held_out_of(args.results, list(config["datasets"]), int(config["metrics"]["fft_size"]))
    made, scores = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for dataset in config["datasets"]:
            targets = validation_targets(
                token_sequences(f"{args.results}/shards/{dataset}/notes/validation.h5", vocabulary, 1),
                [int(c["past"]) for c in composers],
                [int(c["future"]) for c in composers],
                VALIDATION_WINDOWS,
                int(config["seed"]),
            )
            for name, changed in variants.items():
                for seed in seeds:
                    folder = f"{scratch}/{dataset}/{len(scores)}"
                    score, pieces = train_and_score(
                        args.results, dataset, changed, seed, targets, args.pieces, seconds, folder
                    )
                    scores.append({"dataset": dataset, "variant": name, "seed": seed, **score})
                    made += [piece | {"variant": name, "seed": seed} for piece in pieces]
    trainings = pd.DataFrame(scores)
    if args.play:
        rows = play_and_measure(args.results, config, made, seconds, held_out)
    else:
        rows = pd.DataFrame(
            [
                {k: p[k] for k in ("dataset", "piece")}
                | note_statistics(p["notes"], reference=held_out[p["dataset"]][0])
                for p in made
            ]
        )
    rows.insert(1, "variant", [p["variant"] for p in made])
    rows.insert(2, "seed", [p["seed"] for p in made])
    if args.csv:
        rows.merge(trainings, on=["dataset", "variant", "seed"]).to_csv(args.csv, index=False)
    print(
        f"\n### Composer training: {len(seeds)} seed(s) per variant, cross-entropy (nats) on "
        f"{VALIDATION_WINDOWS} validation windows of each dataset\n"
    )
    print(summary(trainings, ROWS_GROUPED_BY, ["train_seconds", "best_val_loss", *LOSSES], "seeds"))
    print(f"\n### Their pieces: {args.pieces} of {seconds:g} s per composer\n")
    print(summary(rows, ROWS_GROUPED_BY, (MEASURES if args.play else []) + NOTE_MEASURES))
    yardsticks = baselines(held_out, seconds, int(config["seed"]))
    yardsticks.insert(1, "variant", "yardstick: " + yardsticks.pop("yardstick"))
    print("\nNote statistics' yardsticks:\n")
    print(summary(yardsticks, ROWS_GROUPED_BY, NOTE_MEASURES, "rows"))


if __name__ == "__main__":
    main()
