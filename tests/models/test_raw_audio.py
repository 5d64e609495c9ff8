"""Every registered architecture keeps the adapter protocol: the test walks the registry, so a
new architecture is checked by adding it there."""

import ast

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from models.raw_audio import ARCHITECTURES, load_trained, model_scheme, window_schemes
from models.raw_audio.training import TrainingData, train
from models.training import TrainingConfig, TrainingOutputs
from sonata.config import validate_config
from sonata.windowing import write_shard
from tests.support import REPO, repo_config, tone
from workflow_scripts.evaluate_model import evaluate
from workflow_scripts.generate_samples import generate_by_length

RATE = 8000
TRAINING = TrainingConfig(
    epochs=1, steps_per_epoch=3, validation_steps=1, early_stopping_patience=1, shuffle_buffer=64, threads=1
)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_adapter_builds_trains_saves_loads_evaluates_and_generates(name, tmp_path):
    adapter = ARCHITECTURES[name]
    cfg = repo_config()
    cfg["models"] = {"example": adapter.example_config()}
    validate_config(cfg)  # the example is a valid config section
    scheme = window_schemes(cfg)[model_scheme(cfg, "example")]
    rows = []
    for i, (split, composer) in enumerate([("train", "Bach"), ("train", "Haydn"), ("validation", "Bach")]):
        wav = tmp_path / f"{i}.wav"
        sf.write(str(wav), tone(1.0, RATE, 220 * (i + 1)), RATE, subtype="PCM_16")
        rows.append(
            {
                "id": i,
                "split": split,
                "composer": composer,
                "ensemble": "E",
                "wav": str(wav),
                "sample_rate": RATE,
                "samples": RATE,
            }
        )
    manifest = pd.DataFrame(rows)
    for split in ("train", "validation"):
        write_shard(str(tmp_path / f"{split}.h5"), manifest[manifest.split == split], scheme, split, "d", 16)

    out = TrainingOutputs(*(str(tmp_path / f) for f in ("w.weights.h5", "model.json", "h.csv", "work")))
    card = train(
        adapter.spec(cfg["models"]["example"]),
        TRAINING,
        TrainingData(str(tmp_path / "train.h5"), str(tmp_path / "validation.h5"), rows),
        out,
        seed=0,
    )
    assert card.architecture == name and card.epochs_run == 1 and card.context_samples > 0

    model, loaded, again = load_trained(out.card, out.weights)
    assert loaded == card and again is adapter
    assert adapter.spec(card.model) == adapter.spec(cfg["models"]["example"])  # the card holds the spec
    table = evaluate(out.card, out.weights, str(tmp_path / "validation.h5"), 32, 0)
    assert {"metric", "predictor", "value", "windows"} <= set(table.columns)
    assert np.isfinite(table["value"]).all() and (table["predictor"].str.startswith("model")).any()

    primes = np.stack([tone(1.0, RATE)[: card.context_samples + 7]] * 2).astype(np.float32)
    ids = np.array([0, 1]) if card.conditions else None
    made = []

    def generate():
        return adapter.generate(model, card, primes, 50, 1.0, 3, ids, made.append)

    audio = generate()
    assert audio.shape == (2, 50) and np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    assert sum(made) >= 50
    np.testing.assert_array_equal(audio, generate())  # seeded

    # pieces of different lengths: each generates for its own length (one batch ran every row
    # to the longest, a 5-second piece costing 2 minutes), shortest first
    class CountingAdapter:
        def __init__(self):
            self.calls = []

        def generate(self, model, card, primes, n_samples, *rest):
            self.calls.append((len(primes), n_samples))
            return adapter.generate(model, card, primes, n_samples, *rest)

    counting = CountingAdapter()
    primes = np.stack([tone(1.0, RATE, f)[: card.context_samples + 7] for f in (220, 330)]).astype(np.float32)
    pieces = generate_by_length(counting, model, card, primes, [0.01, 0.005], RATE, 1.0, 3, ids)
    assert [len(p) for p in pieces] == [80, 40]
    assert counting.calls == [(1, 40), (1, 80)]
    for row, (n, seed) in enumerate([(80, 4), (40, 3)]):  # each row its own primer, condition, seed
        alone = adapter.generate(
            model, card, primes[[row]], n, 1.0, seed, None if ids is None else ids[[row]], lambda k: None
        )
        np.testing.assert_array_equal(pieces[row], alone[0])
    again = generate_by_length(adapter, model, card, primes, [0.01, 0.005], RATE, 1.0, 3, ids)
    for a, b in zip(pieces, again):
        np.testing.assert_array_equal(a, b)  # seeded


def test_no_code_outside_the_registry_asks_an_architectures_name():
    """Comparing against an architecture's name belongs to its adapter, nowhere else."""
    names = set(ARCHITECTURES)
    offenders = []
    folders = ("sonata", "models", "workflow_scripts", "benchmarks", "rules")
    files = [p for f in folders for p in (REPO / f).rglob("*") if p.suffix in (".py", ".smk")]
    for path in [*files, REPO / "Snakefile"]:
        if "architectures" in path.parts:
            continue
        text = path.read_text()
        if path.suffix != ".py":
            offenders += [f"{path.name}: {n}" for n in names if f'== "{n}"' in text or f"== '{n}'" in text]
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Compare):
                values = [node.left, *node.comparators]
                if any(isinstance(v, ast.Constant) and v.value in names for v in values):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, offenders


def test_wavenet_scores_held_out_windows_in_bounded_memory(tmp_path):
    """evaluate_model's rule declares 4 GB; holding every window's logits at once (2,048 windows
    x 1,536 samples x 256 classes, twice over) peaked at 8-12 GB. Scoring in batches keeps the
    arrays to a batch's size and gives the same scores as one batch of everything."""
    import tracemalloc
    from types import SimpleNamespace

    from models.nets.wavenet.network import build_wavenet
    from sonata.shards import read_header
    from workflow_scripts.evaluate_model import sample_windows

    adapter = ARCHITECTURES["wavenet"]
    cfg = {**adapter.example_config(), "quantization_channels": 256, "chunk": 128, "condition_on": []}
    spec = adapter.spec(cfg)
    wav = tmp_path / "tone.wav"
    sf.write(str(wav), tone(4.5, RATE, 330), RATE, subtype="PCM_16")
    row = {"id": 0, "split": "test", "composer": "C", "ensemble": "E", "wav": str(wav)}
    manifest = pd.DataFrame([{**row, "sample_rate": RATE, "samples": int(4.5 * RATE)}])
    shard = str(tmp_path / "test.h5")
    write_shard(shard, manifest, spec.window_scheme("w"), "test", "d", 64)
    windows, _ = sample_windows(shard, 256, 0)
    header = read_header(shard)
    model = build_wavenet(spec, 0)
    card = SimpleNamespace(model=spec.to_config())
    all_logits = windows.shape[0] * spec.chunk * 256 * 4  # bytes of float32 logits for every window

    tracemalloc.start()
    batched = adapter.evaluate(model, card, windows, header, None, batch_windows=16)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    whole = adapter.evaluate(model, card, windows, header, None, batch_windows=len(windows))

    assert len(windows) == 256
    assert peak < all_logits / 2, f"peak {peak / 1e6:.0f} MB, every window's logits {all_logits / 1e6:.0f} MB"
    for a, b in zip(batched, whole):
        assert a["predictor"] == b["predictor"]
        assert a["value"] == pytest.approx(b["value"], rel=1e-6)
