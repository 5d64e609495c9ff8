"""The report's figures: pieces, training, loudness, the listening measures and the corpus.

Every figure is written to a PNG file at 80 dpi with matplotlib's Agg backend, so that the report
builds on a machine without a display, and the page that shows them loads offline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sonata.records import piece_label

# one colour scale for every spectrogram, so that quiet output looks quiet
SPECTROGRAM_DB = (-120, -30)


def _pyplot():
    """matplotlib.pyplot on the Agg backend, imported late: only the report draws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _spectrogram(ax, audio: np.ndarray, rate: int) -> None:
    """A log-power spectrogram on the shared colour scale (the tiny offset keeps log(0) away)."""
    low, high = SPECTROGRAM_DB
    ax.specgram(audio + 1e-9, NFFT=1024, Fs=rate, noverlap=512, cmap="magma", vmin=low, vmax=high)


def plot_piece(audio: np.ndarray, rate: int, title: str, path: Path) -> None:
    """Waveform above a log-power spectrogram: silence, clipping and noise show at a glance."""
    plt = _pyplot()
    fig, (wave, spec) = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True)
    t = np.arange(len(audio)) / rate
    wave.plot(t, audio, linewidth=0.3, color="#1f4e79")
    wave.set_ylim(-1, 1)
    wave.set_ylabel("amplitude")
    wave.set_title(title)
    _spectrogram(spec, audio, rate)
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
    _spectrogram(spec, audio, rate)
    spec.set_ylim(0, min(rate / 2, 4000))
    spec.set_ylabel("Hz")
    spec.set_xlabel("seconds")
    spec.set_xlim(0, len(audio) / rate)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_scores(scores: dict[str, pd.DataFrame], seconds: float, title: str, path: Path) -> None:
    """Piano rolls of several note tables (a composed piece, held-out notes of the same length)
    one above the other on the same time and pitch axes: read as a musician reads two scores,
    where one has chords, lines and phrases the other lacks."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(scores), 1, figsize=(9, 2.2 * len(scores)), sharex=True, sharey=True)
    for ax, (name, notes) in zip(np.atleast_1d(axes), scores.items()):
        for program, part in notes.groupby("program"):
            ax.hlines(part["pitch"], part["onset"], part["offset"], linewidth=2, label=f"GM {program}")
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("MIDI pitch")
        if len(notes):
            ax.legend(loc="upper right", fontsize=7)
    pitches = pd.concat([n["pitch"] for n in scores.values()])
    if len(pitches):
        ax.set_ylim(pitches.min() - 2, pitches.max() + 2)
    ax.set_xlim(0, seconds)
    ax.set_xlabel("seconds")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_training(histories: dict[str, pd.DataFrame], title: str, path: Path) -> None:
    """Loss per epoch for each model, one panel each: whether training converged or overfit,
    and for a performer with a listening test, which epoch played its notes best (kept)."""
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
    """Loudness (RMS in dBFS) over time, one curve per piece: a piece that falls silent after
    a second, or fades, shows as a curve dropping away from the real audio's."""
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
    fig.suptitle(
        f"{title} (blue: generated; grey: real audio, synthesized notes, silence, noise)", fontsize=10
    )
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
