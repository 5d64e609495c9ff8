# Named datasets: selection by composer, ensemble and instrument, split by movement, windows.


rule select_dataset:
    input:
        metadata=METADATA,
        wavs=get_dataset_wavs,
    output:
        manifest="results/datasets/{dataset}/manifest.parquet",
    log:
        "logs/select_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/select_dataset/{dataset}.tsv"
    conda:
        "../envs/audio.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        recordings=lambda wc: {
            str(rid): {
                "split": split,
                "group": RECORDINGS[rid].group,
                "labels": RECORDINGS[rid].labels or "",
            }
            for rid, split in ASSIGNMENT[wc.dataset].items()
        },
        min_samples=MIN_SAMPLES,
    script:
        "../workflow_scripts/select_dataset.py"


rule describe_dataset:
    input:
        manifest="results/datasets/{dataset}/manifest.parquet",
        labels=get_dataset_labels,
        transcribed=get_transcription_quality,
    output:
        minutes="results/datasets/{dataset}/minutes.csv",
        notes="results/datasets/{dataset}/notes.csv",
    log:
        "logs/describe_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/describe_dataset/{dataset}.tsv"
    conda:
        "../envs/audio.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow_scripts/describe_dataset.py"


rule make_shards:
    input:
        manifest="results/datasets/{dataset}/manifest.parquet",
        wavs=get_dataset_wavs,
    output:
        train="results/shards/{dataset}/{scheme}/train.h5",
        validation="results/shards/{dataset}/{scheme}/validation.h5",
        test="results/shards/{dataset}/{scheme}/test.h5",
    log:
        "logs/make_shards/{dataset}_{scheme}.log",
    benchmark:
        "results/benchmarks/make_shards/{dataset}_{scheme}.tsv"
    conda:
        "../envs/audio.yaml"
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        scheme=lambda wc: asdict(SCHEMES[wc.scheme]),
        chunk_windows=config["shards"]["chunk_windows"],
        trim_below=lambda wc: shard_trim(config, wc.scheme),
    script:
        "../workflow_scripts/make_shards.py"


rule shards:
    input:
        expand(
            "results/shards/{dataset}/{scheme}/{split}.h5",
            dataset=DATASETS,
            scheme=SCHEMES,
            split=["train", "validation", "test"],
        ),
