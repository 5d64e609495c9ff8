"""Run: python -m benchmarks [data|generation|training|xla ...]. Prints Markdown tables.

Every row is a median over repeats; every ratio compares with a baseline timed in the same run
on the same machine, so the numbers travel between machines better than absolute times.
"""

import contextlib
import functools
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import soundfile as sf  # noqa: E402

REPEATS = 3
PER_WINDOW_WRITES = 2000  # the per-window HDF5 baseline is timed on this many windows


def median_seconds(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(title: str, rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    lines = [f"\n### {title}\n", "| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:,.4g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def music_like(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    audio = sum(0.1 * np.sin(2 * np.pi * f * t) for f in rng.uniform(100, 1000, 6))
    return (audio + rng.normal(0, 0.01, len(t))).astype(np.float32)


def bench_data(tmp: Path) -> str:
    from pydub import AudioSegment

    from sonata.convert import convert
    from sonata.windowing import write_shard
    from sonata.windows import WindowScheme, frame

    rate, seconds = 16000, 300.0
    wav = tmp / "long.wav"
    sf.write(str(wav), music_like(seconds, rate), rate, subtype="PCM_16")
    audio, _ = sf.read(str(wav), dtype="int16")
    rows = []
    for scheme in (WindowScheme("a", 128, 128, 128, 128), WindowScheme("b", 128, 1, 128, 64)):

        def naive(scheme=scheme):
            out = []
            for start in range(0, len(audio) - scheme.length + 1, scheme.hop):
                out.append(audio[start : start + scheme.length].copy())
            return np.stack(out)

        def vectorized(scheme=scheme):
            return np.ascontiguousarray(frame(audio, scheme.length, scheme.hop))

        n = len(vectorized())
        t_naive, t_fast = median_seconds(naive), median_seconds(vectorized)
        manifest = pd.DataFrame(
            [
                {
                    "id": 1,
                    "split": "train",
                    "composer": "X",
                    "ensemble": "Y",
                    "wav": str(wav),
                    "sample_rate": rate,
                    "samples": len(audio),
                }
            ]
        )
        t_shard = median_seconds(
            lambda scheme=scheme, manifest=manifest: write_shard(
                str(tmp / "s.h5"), manifest, scheme, "train", "b", 512
            )
        )

        def naive_job(scheme=scheme):
            """What a first attempt does: one window, one HDF5 write."""
            import h5py

            with h5py.File(tmp / "naive.h5", "w") as h5:
                ds = h5.create_dataset("windows", (PER_WINDOW_WRITES, scheme.length), dtype="int16")
                for i in range(PER_WINDOW_WRITES):
                    start = i * scheme.hop
                    ds[i] = audio[start : start + scheme.length]

        t_naive_job = median_seconds(naive_job) * n / PER_WINDOW_WRITES
        rows += [
            {
                "scheme": scheme.name,
                "step": "framing",
                "method": "per-window Python loop (baseline)",
                "windows": n,
                "seconds": t_naive,
                "windows/s": n / t_naive,
                "speed-up": 1.0,
            },
            {
                "scheme": scheme.name,
                "step": "framing",
                "method": "strided view (frame)",
                "windows": n,
                "seconds": t_fast,
                "windows/s": n / t_fast,
                "speed-up": t_naive / t_fast,
            },
            {
                "scheme": scheme.name,
                "step": "shard job",
                "method": "per-window HDF5 writes (baseline)",
                "windows": n,
                "seconds": t_naive_job,
                "windows/s": n / t_naive_job,
                "speed-up": 1.0,
            },
            {
                "scheme": scheme.name,
                "step": "shard job",
                "method": "write_shard (read, frame, chunked write)",
                "windows": n,
                "seconds": t_shard,
                "windows/s": n / t_shard,
                "speed-up": t_naive_job / t_shard,
            },
        ]
    out = table(f"Windowing {seconds:.0f} s of 16 kHz audio", rows)

    source = tmp / "src.wav"
    sf.write(str(source), music_like(60, 44100), 44100, subtype="PCM_16")
    mp3 = tmp / "src.mp3"
    AudioSegment.from_wav(str(source)).export(str(mp3), format="mp3", bitrate="128k")
    conv = []
    for name, path in (("44.1 kHz wav (baseline)", source), ("44.1 kHz mp3", mp3)):
        t = median_seconds(lambda path=path: convert(str(path), str(tmp / "out.wav"), 16000))
        conv.append({"input": name, "audio seconds": 60.0, "seconds": t, "audio s per s": 60.0 / t})
    base = conv[0]["seconds"]
    for row in conv:
        row["relative time"] = row["seconds"] / base
    return out + table("Conversion to 16 kHz mono wav (pydub + ffmpeg)", conv)


def bench_generation() -> str:
    import keras

    from models.nets.wavenet.network import build_wavenet, input_values
    from models.nets.wavenet.sampler import IncrementalWaveNet, WaveNetWeights
    from models.raw_audio import model_spec
    from sonata.config import repo_config

    cfg = model_spec(repo_config()["models"]["wavenet"])
    keras.utils.set_random_seed(0)
    model = build_wavenet(cfg)
    rf = cfg.receptive_field
    rate = 16000
    audio = np.random.default_rng(0).uniform(-0.1, 0.1, (1, rf)).astype(np.float32)
    q = cfg.quantization_channels
    prime = input_values(audio, q, bool(cfg.input_embedding))
    weights = WaveNetWeights(model, cfg)
    IncrementalWaveNet(weights, 1, 0).feed(prime)  # compile once

    naive_n = 40

    def naive():
        context = prime.copy()
        for _ in range(naive_n):
            window = context[:, -rf:] if cfg.input_embedding else context[:, -rf:, None]
            code = int(np.argmax(model([window], training=False)[0, -1]))
            nxt = code if cfg.input_embedding else 2.0 * code / (q - 1) - 1
            context = np.concatenate([context, np.array([[nxt]], context.dtype)], axis=1)

    rows = [
        {
            "method": "naive: full receptive field per sample (baseline)",
            "batch": 1,
            "samples/s": naive_n / median_seconds(naive),
        }
    ]
    for batch, n in ((1, 16000), (4, 16000), (16, 8000)):

        def incremental(batch=batch, n=n):
            sampler = IncrementalWaveNet(weights, batch, 0)
            sampler.feed(np.repeat(prime, batch, axis=0))
            sampler.sample(n, 1.0)

        rows.append(
            {
                "method": "incremental, cached layer state",
                "batch": batch,
                "samples/s": batch * n / median_seconds(incremental),
            }
        )
    rows += performer_rows(repo_config())
    base = rows[0]["samples/s"]
    for row in rows:
        row["real-time factor"] = row["samples/s"] / row.pop("rate", rate)
        row["speed-up"] = row["samples/s"] / base
    title = (
        f"WaveNet generation, default model ({'embedded input, ' if cfg.input_embedding else ''}"
        f"{len(weights.dilations)} layers, "
        f"{cfg.residual_channels} channels, receptive field {rf})"
    )
    return table(title, rows)


def performer_rows(config: dict) -> list[dict]:
    """The notes route's performers (each at its measured settings: benchmarks.performer_steps.with_performer)
    playing a piano roll, batch 1, 4 and 16."""
    import keras

    from benchmarks.performer_steps import with_performer
    from models.notes.performers import PERFORMERS
    from models.notes.performers.settings import PerformerSettings

    notes = pd.DataFrame(
        {
            "onset": np.arange(20) * 0.25,
            "offset": np.arange(20) * 0.25 + 0.5,
            "pitch": 60 + np.arange(20) % 12,
            "program": 1,
        }
    )
    rows = []
    for name, adapter in PERFORMERS.items():
        cfg = with_performer(config, name)["notes"]["performer"]
        settings = PerformerSettings.from_sections(config["notes"], cfg)
        spec = adapter.spec(cfg, settings)
        keras.utils.set_random_seed(0)
        model = adapter.build(spec, 2)
        sampling = {k: cfg[k] for k in ("temperature", "probability_floor", "guidance")}
        adapter.perform(model, spec, settings, [notes], [0.1], np.array([0]), 0, sampling)  # compile once
        for batch in (1, 4, 16):
            seconds = max(4.0 / batch, 0.5)

            play = functools.partial(
                adapter.perform,
                model,
                spec,
                settings,
                [notes] * batch,
                [seconds] * batch,
                np.zeros(batch, int),
                0,
                sampling,
            )
            rows.append(
                {
                    "method": f"{name} performer playing notes ({settings.sample_rate} Hz)",
                    "batch": batch,
                    "samples/s": batch * seconds * settings.sample_rate / median_seconds(play),
                    "rate": settings.sample_rate,
                }
            )
    return rows


def bench_training(tmp: Path) -> str:
    from models.raw_audio import model_scheme, model_spec, window_schemes
    from models.raw_audio.training import TrainingData, train
    from models.training import TrainingConfig, TrainingOutputs
    from sonata.config import repo_config
    from sonata.windowing import write_shard

    cfg = repo_config()
    rate = 16000
    wav = tmp / "t.wav"
    sf.write(str(wav), music_like(60, rate), rate, subtype="PCM_16")
    rows_manifest = [
        {
            "id": 1,
            "split": s,
            "composer": "X",
            "ensemble": "Y",
            "wav": str(wav),
            "sample_rate": rate,
            "samples": 60 * rate,
        }
        for s in ("train",)
    ]
    manifest = pd.DataFrame(rows_manifest)
    training = TrainingConfig.from_config(
        dict(cfg["training"], epochs=2, steps_per_epoch=20, validation_steps=2)
    )
    rows = []
    schemes = window_schemes(cfg)
    for name in ("seq2seq", "wavenet"):
        model_cfg = cfg["models"][name]
        scheme = schemes[model_scheme(cfg, name)]
        for split in ("train", "validation"):
            write_shard(str(tmp / f"{name}_{split}.h5"), manifest, scheme, split, "b", 512)
        with contextlib.redirect_stdout(io.StringIO()):  # Keras' per-epoch lines
            card = train(
                model_spec(model_cfg),
                training,
                TrainingData(
                    str(tmp / f"{name}_train.h5"), str(tmp / f"{name}_validation.h5"), rows_manifest
                ),
                TrainingOutputs(
                    str(tmp / f"{name}.weights.h5"),
                    str(tmp / f"{name}.json"),
                    str(tmp / f"{name}.csv"),
                    str(tmp / f"{name}_work"),
                ),
                0,
            )
        windows = training.epochs * training.steps_per_epoch * model_cfg["batch_size"]
        targets = windows * scheme.target_length
        seconds = card.train_seconds_last_session
        rows.append(
            {
                "model": name,
                "device": card.device,
                "windows/s": windows / seconds,
                "predicted samples/s": targets / seconds,
                "parameters": card.parameters,
            }
        )
    base = rows[0]["predicted samples/s"]
    for row in rows:
        row["vs seq2seq"] = row["predicted samples/s"] / base
    return table("Training throughput (default config, 2 epochs x 20 steps incl. validation)", rows)


def bench_paper_steps() -> str:
    from benchmarks.paper_training import device_name, on_gpu, step_rows

    if not on_gpu():
        print("no GPU: float32 only, 24-27 s a paper-size WaveNet step on 2 cores", file=sys.stderr)
    steps = int(os.environ.get("SONATA_PAPER_STEPS", "10"))
    rows = step_rows(steps)
    return table(
        f"Training steps at the paper preset's sizes ({device_name()}, median of {steps} steps)", rows
    )


def bench_xla(rounds: int = 6, steps: int = 10) -> str:
    """What XLA buys each default model's training on this machine (it varies by machine)."""
    from benchmarks.paper_training import device_name, xla_step_rows

    rows = xla_step_rows(rounds, steps)
    return table(
        f"Training steps, XLA or not ({device_name()}, default config, medians of {rounds} "
        f"alternating rounds of {steps} steps)",
        rows,
    )


def main(argv: list[str]) -> None:
    chosen = argv or ["data", "generation", "training"]
    print(f"# sonata benchmarks ({os.cpu_count()} CPUs, median of {REPEATS})")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "data" in chosen:
            print(bench_data(tmp), flush=True)
        if "generation" in chosen:
            print(bench_generation(), flush=True)
        if "training" in chosen:
            print(bench_training(tmp), flush=True)
        if "xla" in chosen:  # not in the default set: about 4 minutes on 2 CPU cores
            print(bench_xla(), flush=True)
        if "paper" in chosen:  # not in the default set: about 12 minutes on 2 CPU cores
            print(bench_paper_steps(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
