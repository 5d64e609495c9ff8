# Metrics per generated piece, then everything a listener needs in results/samples/.


rule compute_metrics:
    input:
        manifest="results/datasets/{dataset}/manifest.parquet",
        pieces=lambda wc: [p["file"] for p in get_generated_pieces(wc)],
        notes=lambda wc: [p["notes"] for p in get_generated_pieces(wc) if "notes" in p],
        test_notes="results/shards/{dataset}/notes/test.h5",
        composition="results/notes/{dataset}/composed/composition.json",
        heard=lambda wc: (
            f"results/metrics/{wc.dataset}_heard.parquet"
            if config["metrics"]["transcribe"]
            else []
        ),
    output:
        audio="results/metrics/{dataset}.parquet",
        notes="results/metrics/{dataset}_notes.parquet",
        # the held-out notes of the longest composed length, drawn beside a composed piece
        held_out_notes="results/metrics/{dataset}_held_out_notes.csv",
    log:
        "logs/compute_metrics/{dataset}.log",
    benchmark:
        "results/benchmarks/compute_metrics/{dataset}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        pieces=get_generated_pieces,
        metrics=config["metrics"],
        seed=config["seed"],
    script:
        "../workflow_scripts/compute_metrics.py"


rule transcribe_performances:
    input:
        pieces=lambda wc: [p["file"] for p in get_generated_pieces(wc) if "notes" in p],
        notes=lambda wc: [p["notes"] for p in get_generated_pieces(wc) if "notes" in p],
    output:
        heard="results/metrics/{dataset}_heard.parquet",
    log:
        "logs/transcribe_performances/{dataset}.log",
    benchmark:
        "results/benchmarks/transcribe_performances/{dataset}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        # only the pieces with notes (the notes route's): it runs while the raw-audio baselines
        # still generate, off the run's critical path
        pieces=lambda wc: [p for p in get_generated_pieces(wc) if "notes" in p],
        transcription=config["transcription"],
    script:
        "../workflow_scripts/transcribe_performances.py"


rule samples:
    input:
        pieces=expand(
            "results/generated/{dataset}/{model}/{duration}.wav",
            dataset=DATASETS,
            model=MODELS,
            duration=DURATIONS,
        ),
        generation=expand(
            "results/generated/{dataset}/{model}/generation.json",
            dataset=DATASETS,
            model=MODELS,
        )
        + expand("results/performed/{dataset}/generation.json", dataset=DATASETS)
        + get_synthesized_records(),
        composed=expand(
            "results/notes/{dataset}/composed/{piece}.{ext}",
            dataset=DATASETS,
            piece=PIECES,
            ext=["mid", "csv"],
        ),
        models=expand(
            "results/models/{dataset}/{model}/model.json",
            dataset=DATASETS,
            model=MODELS,
        ),
        histories=expand(
            "results/models/{dataset}/{model}/history.csv",
            dataset=DATASETS,
            model=MODELS,
        ),
        evaluation=expand(
            "results/evaluation/{dataset}/{model}.csv", dataset=DATASETS, model=MODELS
        ),
        metrics=expand("results/metrics/{dataset}.parquet", dataset=DATASETS),
        note_metrics=expand("results/metrics/{dataset}_notes.parquet", dataset=DATASETS),
        held_out_notes=expand(
            "results/metrics/{dataset}_held_out_notes.csv", dataset=DATASETS
        ),
        composer_histories=expand(
            "results/notes/{dataset}/composer/history.csv", dataset=DATASETS
        ),
        performer_history="results/notes/performer/history.csv",
        manifests=expand(
            "results/datasets/{dataset}/manifest.parquet", dataset=DATASETS
        ),
        minutes=expand("results/datasets/{dataset}/minutes.csv", dataset=DATASETS),
        notes=expand("results/datasets/{dataset}/notes.csv", dataset=DATASETS),
    output:
        directory("results/samples"),
    log:
        "logs/samples.log",
    benchmark:
        "results/benchmarks/samples.tsv"
    conda:
        "../envs/tensorflow.yaml"
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        datasets=config["datasets"],
        report=config["report"],
        frame_seconds=config["metrics"]["frame_seconds"],
    script:
        "../workflow_scripts/make_report.py"
