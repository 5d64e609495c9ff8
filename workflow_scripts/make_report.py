"""Fill results/samples/: the pieces, an index, the metric tables, plots and an offline HTML page."""

import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from sonata.analysis import rms_curve
from sonata.audio import read_audio, read_segment, write_wav
from sonata.notes import read_labels
from sonata.records import UNSAMPLED, GenerationRecord, piece_label

log = logging.getLogger("sonata.report")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_piece(audio: np.ndarray, rate: int, title: str, path: Path) -> None:
    """Waveform above a log-power spectrogram."""
    plt = _pyplot()
    fig, (wave, spec) = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True)
    t = np.arange(len(audio)) / rate
    wave.plot(t, audio, linewidth=0.3, color="#1f4e79")
    wave.set_ylim(-1, 1)
    wave.set_ylabel("amplitude")
    wave.set_title(title)
    # one colour scale for every plot, so that quiet output looks quiet
    spec.specgram(audio + 1e-9, NFFT=1024, Fs=rate, noverlap=512, cmap="magma", vmin=-120, vmax=-30)
    spec.set_ylabel("Hz")
    spec.set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_notes_piece(audio: np.ndarray, rate: int, notes: pd.DataFrame, title: str, path: Path) -> None:
    """The notes a piece plays (a piano roll, one colour per instrument) above its spectrogram,
    on one time axis: where the two line up, the sound follows its score."""
    plt = _pyplot()
    fig, (roll, spec) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for program, part in notes.groupby("program"):
        roll.hlines(part["pitch"], part["onset"], part["offset"], linewidth=2.5, label=f"GM {program}")
    roll.set_ylabel("MIDI pitch")
    roll.set_title(title)
    if len(notes):
        roll.legend(loc="upper right", fontsize=7)
    spec.specgram(audio + 1e-9, NFFT=1024, Fs=rate, noverlap=512, cmap="magma", vmin=-120, vmax=-30)
    spec.set_ylim(0, min(rate / 2, 4000))
    spec.set_ylabel("Hz")
    spec.set_xlabel("seconds")
    spec.set_xlim(0, len(audio) / rate)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_training(histories: dict[str, pd.DataFrame], title: str, path: Path) -> None:
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(histories), figsize=(4.5 * len(histories), 3.2), squeeze=False)
    for ax, (model, history) in zip(axes[0], histories.items()):
        ax.plot(history["epoch"] + 1, history["loss"], "o-", label="train")
        if "val_loss" in history:
            ax.plot(history["epoch"] + 1, history["val_loss"], "s--", label="validation")
        ax.set_title(f"{title}: {model}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend(loc="upper left")
        if "val_score" in history:  # how well validation notes were played after each epoch
            score = ax.twinx()
            score.plot(
                history["epoch"] + 1, history["val_score"], "^:", color="tab:green", label="plays its notes"
            )
            best = history["val_score"].idxmax()
            score.plot(
                history["epoch"][best] + 1, history["val_score"][best], "*", color="tab:green", markersize=12
            )
            score.set_ylabel("score following (kept: star)")
            score.set_ylim(0, 1)
            score.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_rms(curves: dict[str, np.ndarray], frame_seconds: float, title: str, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 3.2))
    colours = plt.get_cmap("tab20").colors  # more curves than the default cycle's 10 colours
    for (name, curve), colour in zip(curves.items(), colours * 2):
        ax.plot(
            np.arange(len(curve)) * frame_seconds,
            20 * np.log10(curve + 1e-6),
            label=name,
            linewidth=0.8,
            color=colour,
        )
    ax.set_xlabel("seconds")
    ax.set_ylabel("RMS (dBFS)")
    ax.set_ylim(-80, 0)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside, not over, the curves
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


MUSICALITY = {
    "sounding": "sounding (1 - silent fraction)",
    "tonal_fraction": "notes (tonal fraction)",
    "chroma_change": "movement (chroma change)",
}


def plot_musicality(metrics: pd.DataFrame, title: str, path: Path) -> None:
    """Does it sound, does it hold notes, does it move: pieces beside silence, noise and real audio."""
    plt = _pyplot()
    passages = metrics["passage"] if "passage" in metrics else [0] * len(metrics)
    rows = metrics.assign(
        sounding=1.0 - metrics["silent_fraction"],
        label=[piece_label(m, s, n) for m, s, n in zip(metrics["model"], metrics["seconds"], passages)],
    ).iloc[::-1]
    colours = ["#1f4e79" if kind == "generated" else "#bbbbbb" for kind in rows["kind"]]
    fig, axes = plt.subplots(1, 3, figsize=(10, 0.3 * len(rows) + 1.2), sharey=True)
    for ax, (column, name) in zip(axes, MUSICALITY.items()):
        ax.barh(rows["label"], rows[column].fillna(0.0), color=colours)
        for position, value in enumerate(rows[column]):
            if np.isnan(value):
                ax.text(0.02, position, "n/a (too short)", va="center", fontsize=7, color="#888888")
        ax.set_title(name, fontsize=9)
        ax.set_xlim(0, 1)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{title} (blue: generated; grey: real audio, synthesized notes, baselines)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_minutes(minutes: pd.DataFrame, title: str, path: Path) -> None:
    """Minutes of audio per split, stacked by composer and ensemble: what the models heard."""
    plt = _pyplot()
    table = minutes.assign(source=minutes["composer"] + ", " + minutes["ensemble"]).pivot_table(
        index="split", columns="source", values="minutes", aggfunc="sum", observed=False
    )
    table = table.reindex(["train", "validation", "test"]).fillna(0.0)
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(table) + 1.4))
    left = np.zeros(len(table))
    for source in table.columns:
        ax.barh(table.index, table[source], left=left, label=source)
        left += table[source].to_numpy()
    ax.invert_yaxis()
    ax.set_xlabel("minutes of audio")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def corpus_context(dataset: str, minutes: pd.DataFrame, notes: pd.DataFrame, plots: Path) -> dict:
    png = plots / f"{dataset}_corpus.png"
    plot_minutes(minutes, f"{dataset}: minutes per split", png)
    return {"plot": png.name, "minutes": _table(minutes), "notes": _table(notes)}


def _rate(real_time_factor: float | None) -> str:
    """A real-time factor as the page shows it; empty for real audio, which nothing generated."""
    return "" if real_time_factor is None else f"{real_time_factor:.3g}"


def _table(frame: pd.DataFrame) -> str:
    """An HTML table; pandas escapes the cells, so the template may insert it as it is."""
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, classes="t", na_rep="n/a")


def render_page(context: dict) -> str:
    """The report page from its Jinja2 template, every value escaped unless marked safe."""
    from importlib.resources import files

    import jinja2

    template = (files("workflow_scripts") / "templates" / "report.html.j2").read_text()
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(template).render(**context)


def build_report(
    out: Path,
    pieces: list[dict],
    metrics: pd.DataFrame,
    evaluation: pd.DataFrame,
    histories: dict[str, dict[str, pd.DataFrame]],
    datasets: dict,
    frame_seconds: float,
    references: dict[str, dict] | None = None,
    corpus: dict[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None,
    note_metrics: pd.DataFrame | None = None,
) -> Path:
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    sections = []
    for dataset, cfg in datasets.items():
        held = (corpus or {}).get(dataset)
        section = {
            "name": dataset,
            "description": cfg.get("description", ""),
            "composers": ", ".join(cfg["composers"]) or "any",
            "ensembles": ", ".join(cfg["ensembles"]) or "any",
            "corpus": corpus_context(dataset, *held, plots) if held else None,
            "training_plot": f"{dataset}_training.png",
            "reference": None,
            "pieces": [],
        }
        plot_training(histories[dataset], dataset, plots / section["training_plot"])
        curves = {}
        reference = (references or {}).get(dataset)
        if reference:
            audio, rate = read_audio(out / reference["file"])
            png = plots / f"{dataset}_held_out_reference.png"
            plot_piece(audio, rate, f"{dataset} / real held-out audio", png)
            curves["real held-out audio"] = rms_curve(audio, int(frame_seconds * rate))
            section["reference"] = {**reference, "seconds": f"{len(audio) / rate:g}", "plot": png.name}
        own_pieces = [p for p in pieces if p["dataset"] == dataset]
        # each held-out passage's performance, then its real audio, passage after passage
        own_pieces.sort(key=lambda p: p.get("passage", 0) or 0)
        for piece in own_pieces:
            audio, rate = read_audio(out / piece["file"])
            png = plots / (piece["file"].replace("/", "_").replace(".wav", ".png"))
            label = piece_label(piece["model"], piece["seconds"], piece.get("passage", 0))
            title = f"{dataset} / {label}"
            if piece.get("notes"):
                plot_notes_piece(audio, rate, read_labels(out / piece["notes"]), title, png)
            else:
                plot_piece(audio, rate, title, png)
            if piece.get("passage", 0) <= 1:  # one held-out passage and its real one: enough to compare
                curves[label] = rms_curve(audio, int(frame_seconds * rate))
            section["pieces"].append(
                {
                    **piece,
                    "label": label,
                    "seconds": f"{piece['seconds']:g}",
                    "real_time_factor": _rate(piece["real_time_factor"]),
                    "plot": png.name,
                }
            )
        section["rms_plot"] = f"{dataset}_rms.png"
        plot_rms(curves, frame_seconds, f"{dataset}: loudness over time", plots / section["rms_plot"])
        own_metrics = metrics[metrics["dataset"] == dataset]
        section["musicality_plot"] = f"{dataset}_musicality.png"
        plot_musicality(own_metrics, dataset, plots / section["musicality_plot"])
        section["metrics"] = _table(own_metrics.drop(columns=["file", "dataset"], errors="ignore"))
        section["evaluation"] = _table(evaluation[evaluation["dataset"] == dataset].drop(columns=["dataset"]))
        if note_metrics is not None:
            own = note_metrics[note_metrics["dataset"] == dataset].drop(columns=["dataset"])
            section["note_metrics"] = _table(own)
        sections.append(section)
    page = out / "report.html"
    page.write_text(render_page({"datasets": sections}))
    return page


def collect(
    inputs, datasets: dict, out_dir: str, frame_seconds: float, reference_seconds: float = 10.0
) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pieces = []
    for gen_path in inputs.generation:
        record = GenerationRecord.from_json(gen_path)
        for piece in record.pieces:
            # results/generated/<dataset>/<model>/ or, for the notes route, results/performed/<dataset>/
            dataset, model = (
                (Path(gen_path).parts[-2], piece.role) if piece.role else Path(gen_path).parts[-3:-1]
            )
            folder = f"{dataset}/notes" if piece.role else f"{dataset}/{model}"
            rel = f"{folder}/{Path(piece.file).name}"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(piece.file, out / rel)
            extra = {}
            if piece.notes:  # the notes beside the sound: MIDI where there is one, and the labels
                extra["notes"] = f"{folder}/{Path(piece.notes).name}"
                shutil.copyfile(piece.notes, out / extra["notes"])
                midi = Path(piece.notes).with_suffix(".mid")
                if midi.exists():
                    extra["midi"] = f"{folder}/{midi.name}"
                    shutil.copyfile(midi, out / extra["midi"])
            pieces.append(
                {
                    **{k: v for k, v in asdict(piece).items() if k not in ("file", "role", "notes")},
                    "file": rel,
                    "dataset": dataset,
                    "model": model,
                    "architecture": record.architecture,
                    # real audio, or notes synthesized, beside a performance: no sampling settings, no speed
                    **(
                        {
                            "temperature": None,
                            "probability_floor": None,
                            "guidance": None,
                            "real_time_factor": None,
                        }
                        if model in UNSAMPLED
                        else {
                            "temperature": record.temperature,
                            "probability_floor": record.probability_floor,
                            "guidance": record.guidance,
                            "real_time_factor": record.real_time_factor,
                        }
                    ),
                    **extra,
                }
            )
    metrics = pd.concat([pd.read_parquet(p) for p in inputs.metrics], ignore_index=True)
    if "notes" in metrics:
        metrics["notes"] = metrics["notes"].map(lambda n: Path(n).name if isinstance(n, str) else n)
    evaluation = pd.concat([pd.read_csv(p) for p in inputs.evaluation], ignore_index=True)
    index = pd.DataFrame(pieces)
    per_piece = metrics[metrics["kind"] != "baseline"].drop(
        columns=["kind", "notes", "passage"], errors="ignore"
    )
    # a piece is its file: several held-out passages share their model and length
    per_piece = per_piece.assign(name=per_piece.pop("file").map(lambda f: Path(f).name))
    index = (
        index.assign(name=index["file"].map(lambda f: Path(f).name))
        .merge(per_piece, on=["dataset", "model", "seconds", "name"], how="left")
        .drop(columns="name")
    )
    index.to_csv(out / "index.csv", index=False)
    metrics.to_csv(out / "metrics.csv", index=False)
    metrics.to_parquet(out / "metrics.parquet", index=False)
    evaluation.to_csv(out / "evaluation.csv", index=False)
    histories: dict[str, dict[str, pd.DataFrame]] = {d: {} for d in datasets}
    for path in inputs.histories:
        dataset, model = Path(path).parts[-3:-1]
        histories[dataset][model] = pd.read_csv(path)
    for path in inputs.composer_histories:  # results/notes/<dataset>/composer/history.csv
        histories[Path(path).parts[-3]]["composer (notes)"] = pd.read_csv(path)
    for dataset in datasets:  # the one performer every dataset shares
        histories[dataset]["performer (shared)"] = pd.read_csv(inputs.performer_history)
    note_metrics = pd.concat([pd.read_parquet(p) for p in inputs.note_metrics], ignore_index=True)
    note_metrics.to_csv(out / "note_metrics.csv", index=False)
    references = write_references(out, pieces, inputs.manifests, reference_seconds)
    corpus = {
        Path(m).parts[-2]: (pd.read_csv(m), pd.read_csv(n)) for m, n in zip(inputs.minutes, inputs.notes)
    }
    return build_report(
        out, pieces, metrics, evaluation, histories, datasets, frame_seconds, references, corpus, note_metrics
    )


def write_references(out: Path, pieces: list[dict], manifests: list[str], seconds: float) -> dict[str, dict]:
    """Per dataset, the real audio from the first primer on, for listening side by side."""
    references = {}
    for manifest_path in manifests:
        dataset = Path(manifest_path).parts[-2]
        first = next((p for p in pieces if p["dataset"] == dataset), None)
        if first is None:
            continue
        manifest = pd.read_parquet(manifest_path).set_index("id")
        row = manifest.loc[first["prime_id"]]
        length = min(int(seconds * row["sample_rate"]), int(row["samples"]) - first["prime_start_sample"])
        audio = read_segment(row["wav"], first["prime_start_sample"], length)
        rel = f"{dataset}/held_out_reference.wav"
        write_wav(out / rel, audio, int(row["sample_rate"]))
        references[dataset] = {
            "file": rel,
            "id": int(first["prime_id"]),
            "start": int(first["prime_start_sample"]),
        }
    return references


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import PROGRESS, setup_logging

    os.makedirs(os.path.dirname(snakemake.log[0]), exist_ok=True)
    setup_logging(snakemake.log[0])
    page = collect(
        snakemake.input,
        snakemake.params.datasets,
        snakemake.output[0],
        snakemake.params.frame_seconds,
        snakemake.params.report["reference_seconds"],
    )
    log.info("report: %s", page, extra=PROGRESS)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
