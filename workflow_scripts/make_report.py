"""Fill results/samples/: the pieces, an index, the metric tables, plots and an offline HTML page."""

import logging
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from models.registry import Registry
from sonata import SonataError
from sonata.analysis import rms_curve
from sonata.audio import read_audio, read_segment, write_wav
from sonata.composition import MEASURES
from sonata.labels import read_labels
from sonata.plots import (
    plot_minutes,
    plot_musicality,
    plot_notes_piece,
    plot_piece,
    plot_rms,
    plot_scores,
    plot_training,
)
from sonata.records import (
    COMPOSED,
    HELD_OUT,
    REAL_PASSAGE,
    SYNTHESIZED,
    UNSAMPLED,
    GenerationRecord,
    ModelCard,
    piece_label,
)

log = logging.getLogger("sonata.report")


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


# Where the page shows each of the notes route's pieces; every other piece is a raw-audio baseline
COMPOSED_PIECES = (COMPOSED, SYNTHESIZED)
HELD_OUT_PIECES = (HELD_OUT, REAL_PASSAGE)
NOTES_ROUTE = COMPOSED_PIECES + HELD_OUT_PIECES


def describe_model(card: ModelCard, registry: Registry) -> str:
    """What a trained model is, in the words of the adapter its registry finds for its card (the
    first sentence of the adapter class's docstring, else of its module's), so that the page names
    what this run trained and never an assumed model; a card no adapter speaks for is named as it
    names itself."""
    try:
        adapter = registry.of_card(card.architecture, "")
    except SonataError:
        return f'a {registry.kind} with the model card architecture "{card.architecture}"'
    doc = type(adapter).__doc__ or sys.modules[type(adapter).__module__].__doc__ or ""
    sentence = " ".join(doc.split()).split(". ")[0].rstrip(".")
    sentence = sentence[:1].lower() + sentence[1:]
    if adapter.name.lower() not in sentence.lower():
        sentence = f"the {adapter.name} {registry.kind}" + (f": {sentence}" if sentence else "")
    return sentence


def describe_card(card: ModelCard) -> str:
    """A trained model's size and training, from its card, as the summary quotes it."""
    return f'model card "{card.architecture}": {card.parameters:,} parameters, {card.epochs_run} epochs'


def describe_route(
    pieces: list[dict], performer: ModelCard | None, composers: dict[str, ModelCard]
) -> dict[str, str]:
    """What composed the notes, what played them and what else is heard, read from the model
    cards and generation records, so that the page's summary names the models this run used."""
    from models.notes.composers import COMPOSERS
    from models.notes.performers import PERFORMERS

    kinds = sorted({describe_model(card, COMPOSERS) for card in composers.values()})
    baselines: dict[str, str] = {}
    synthesizers: set[str] = set()
    for piece in pieces:
        if piece["model"] == SYNTHESIZED:
            synthesizers.add(piece["architecture"])
        elif piece["model"] not in NOTES_ROUTE:
            baselines.setdefault(piece["model"], piece["architecture"])
    return {
        "composer": " / ".join(kinds) or "a composer (no model card found)",
        "composer_cards": "; ".join(f"{name}: {describe_card(card)}" for name, card in composers.items()),
        "performer": (
            describe_model(performer, PERFORMERS) if performer else "a performer (no model card found)"
        ),
        "performer_card": describe_card(performer) if performer else "",
        "synthesizer": ", ".join(sorted(synthesizers)),
        "baselines": ", ".join(
            name if name == architecture else f"{name} ({architecture})"
            for name, architecture in baselines.items()
        ),
    }


def part_of(piece: dict) -> str:
    """The section of the page a piece belongs in: composed, held_out or baselines."""
    if piece["model"] in COMPOSED_PIECES:
        return "composed"
    return "held_out" if piece["model"] in HELD_OUT_PIECES else "baselines"


def piece_order(piece: dict) -> tuple:
    """Composed pieces by number, then length (5s, 120s, 5s_2, ...), each performed then as
    written; each held-out passage's performance, then its real audio, passage after passage;
    baselines as the records list them."""
    passage = piece.get("passage", 0) or 0
    return (
        passage,
        piece["seconds"] if piece["model"] in COMPOSED_PIECES else 0,
        piece["model"] in UNSAMPLED,
    )


def metrics_part(metrics: pd.DataFrame, models: pd.Series) -> pd.DataFrame:
    """The rows of `metrics` whose model `models` selects, beside the yardsticks (silence, noise,
    real validation audio) of the same lengths."""
    chosen = metrics[models & (metrics["kind"] != "baseline")]
    yardsticks = metrics[(metrics["kind"] == "baseline") & metrics["seconds"].isin(chosen["seconds"])]
    return pd.concat([chosen, yardsticks])


SUMMARY_ORDER = (COMPOSED, "held-out notes", "pitches shuffled", "random notes", "looped passage")


def composition_summary(note_metrics: pd.DataFrame) -> pd.DataFrame:
    """The composition table: per length, the composed pieces' mean (and how many) beside the
    held-out notes and the baselines made from them, every measure in its column, and the
    composer's bits per held-out note on its rows."""
    extra = ("pitch_class_distance", "notes_per_second", "polyphony", "composer_bits_per_note")
    measures = [c for c in (*MEASURES, *extra) if c in note_metrics]
    grouped = note_metrics.groupby(["seconds", "model"], sort=False)
    table = grouped[measures].mean().round(3)
    table.insert(0, "pieces", grouped.size())
    table = table.reset_index()
    rank = {name: k for k, name in enumerate(SUMMARY_ORDER)}
    table["order"] = table["model"].map(lambda m: rank.get(m, len(rank)))
    return table.sort_values(["seconds", "order"]).drop(columns="order").reset_index(drop=True)


def _part_table(frame: pd.DataFrame) -> str:
    """A part's metric table without the columns no row of it fills (the notes-only measures of
    the raw-audio pieces)."""
    return _table(frame.drop(columns=["file", "dataset"], errors="ignore").dropna(axis=1, how="all"))


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
    performer: ModelCard | None = None,
    composers: dict[str, ModelCard] | None = None,
    held_out_notes: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Draw every plot and write report.html: per dataset the composed pieces, the held-out
    comparisons, the study's raw-audio baselines, then the data and training."""
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
            "composed": [],
            "held_out": [],
            "baselines": [],
        }
        plot_training(histories[dataset], dataset, plots / section["training_plot"])
        own_pieces = sorted((p for p in pieces if p["dataset"] == dataset), key=piece_order)
        has_baselines = any(part_of(p) == "baselines" for p in own_pieces)
        curves: dict[str, dict] = {"notes": {}, "baselines": {}}
        reference = (references or {}).get(dataset)
        if reference:  # the real audio the first piece's primer comes from: the baselines' primers
            audio, rate = read_audio(out / reference["file"])
            png = plots / f"{dataset}_held_out_reference.png"
            plot_piece(audio, rate, f"{dataset} / real held-out audio", png)
            shown_with = "baselines" if has_baselines else "notes"
            curves[shown_with]["real held-out audio"] = rms_curve(audio, int(frame_seconds * rate))
            section["reference"] = {
                **reference,
                "seconds": f"{len(audio) / rate:g}",
                "plot": png.name,
                "with_baselines": has_baselines,
            }
        for piece in own_pieces:
            audio, rate = read_audio(out / piece["file"])
            png = plots / (piece["file"].replace("/", "_").replace(".wav", ".png"))
            label = piece_label(piece["model"], piece["seconds"], piece.get("passage", 0))
            title = f"{dataset} / {label}"
            if piece.get("notes"):
                plot_notes_piece(audio, rate, read_labels(out / piece["notes"]), title, png)
            else:
                plot_piece(audio, rate, title, png)
            part = part_of(piece)
            if piece.get("passage", 0) <= 1:  # one held-out passage and its real one: enough to compare
                curves["baselines" if part == "baselines" else "notes"][label] = rms_curve(
                    audio, int(frame_seconds * rate)
                )
            section[part].append(
                {
                    **piece,
                    "label": label,
                    "seconds": f"{piece['seconds']:g}",
                    "real_time_factor": _rate(piece["real_time_factor"]),
                    "plot": png.name,
                }
            )
        own_metrics = metrics[metrics["dataset"] == dataset]
        notes_route = own_metrics["model"].isin(NOTES_ROUTE)
        for name, rows, title in (
            ("notes", metrics_part(own_metrics, notes_route), "the notes route"),
            ("baselines", metrics_part(own_metrics, ~notes_route), "the raw-audio baselines"),
        ):
            section.update({f"{name}_{key}": None for key in ("rms_plot", "musicality_plot", "metrics")})
            if curves[name]:
                section[f"{name}_rms_plot"] = f"{dataset}_{name}_rms.png"
                plot_rms(
                    curves[name],
                    frame_seconds,
                    f"{dataset}, {title}: loudness over time",
                    plots / section[f"{name}_rms_plot"],
                )
            if (rows["kind"] != "baseline").any():
                section[f"{name}_musicality_plot"] = f"{dataset}_{name}_musicality.png"
                plot_musicality(rows, f"{dataset}, {title}", plots / section[f"{name}_musicality_plot"])
                section[f"{name}_metrics"] = _part_table(rows)
        section["evaluation"] = _table(evaluation[evaluation["dataset"] == dataset].drop(columns=["dataset"]))
        section["note_metrics"] = section["composition_plot"] = None
        if note_metrics is not None:
            own = note_metrics[note_metrics["dataset"] == dataset].drop(columns=["dataset"])
            section["note_metrics"] = _table(composition_summary(own))
        first = [
            p for p in own_pieces if p["model"] == COMPOSED and p.get("passage", 0) <= 1 and p.get("notes")
        ]
        held = (held_out_notes or {}).get(dataset)
        if first and held is not None:  # the longest composed piece beside held-out notes as long
            chosen = max(first, key=lambda p: p["seconds"])
            section["composition_plot"] = f"{dataset}_composition.png"
            plot_scores(
                {
                    f"composed: {piece_label(chosen['model'], chosen['seconds'], 1)}": read_labels(
                        out / chosen["notes"]
                    ),
                    f"held-out: the test recordings' first {chosen['seconds']:g} s": held,
                },
                chosen["seconds"],
                f"{dataset}: a composed piece and held-out notes of its length, at one scale",
                plots / section["composition_plot"],
            )
        sections.append(section)
    page = out / "report.html"
    summary = describe_route(pieces, performer, composers or {})
    page.write_text(render_page({"summary": summary, "datasets": sections}))
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
    # the model cards beside the histories (the same jobs write both): what composed and what played
    performer = read_card(getattr(inputs, "performer_card", None) or inputs.performer_history)
    composers = {Path(path).parts[-3]: read_card(path) for path in inputs.composer_histories}
    held_out_notes = {
        Path(p).name.removesuffix("_held_out_notes.csv"): read_labels(p) for p in inputs.held_out_notes
    }
    return build_report(
        out,
        pieces,
        metrics,
        evaluation,
        histories,
        datasets,
        frame_seconds,
        references,
        corpus,
        note_metrics,
        performer,
        {dataset: card for dataset, card in composers.items() if card is not None},
        held_out_notes,
    )


def read_card(path: str | Path) -> ModelCard | None:
    """The model card at `path`, or beside the history.csv at `path`; None where there is none
    (the summary then says that it cannot name the model rather than guess)."""
    card = Path(path)
    if card.suffix != ".json":
        card = card.with_name("model.json")
    return ModelCard.from_json(card) if card.is_file() else None


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
