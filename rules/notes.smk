# The notes route: notes from the labels, a composer per dataset, one shared performer.


rule make_note_shards:
    input:
        manifest="results/datasets/{dataset}/manifest.parquet",
        labels=get_dataset_labels,
    output:
        train="results/shards/{dataset}/notes/train.h5",
        validation="results/shards/{dataset}/notes/validation.h5",
        test="results/shards/{dataset}/notes/test.h5",
    log:
        "logs/make_note_shards/{dataset}.log",
    benchmark:
        "results/benchmarks/make_note_shards/{dataset}.tsv"
    conda:
        "../envs/audio.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/make_note_shards.py"


rule train_performer:
    input:
        train=expand("results/shards/{dataset}/notes/train.h5", dataset=DATASETS),
        validation=expand(
            "results/shards/{dataset}/notes/validation.h5", dataset=DATASETS
        ),
        test=expand("results/shards/{dataset}/notes/test.h5", dataset=DATASETS),
        wavs=get_all_wavs,
    output:
        weights="results/notes/performer/model.weights.h5",
        info="results/notes/performer/model.json",
        history="results/notes/performer/history.csv",
    log:
        "logs/train_performer.log",
    benchmark:
        "results/benchmarks/train_performer.tsv"
    # the run's longest job, on its critical path: start it as soon as its inputs exist, and let
    # the shorter jobs share the cores beside it
    priority: 10
    conda:
        "../envs/tensorflow.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=6000,
        runtime=240,
        gpu=GPUS,
    params:
        # the keys that only shape playing, and the other performers' own keys, retrain nothing
        performer=PERFORMERS.training_settings(config["notes"]["performer"]),
        notes={k: config["notes"][k] for k in ("frame_seconds", "onset_frames")},
        training=note_model_training(
            config, PERFORMERS.training_schedule(config["notes"]["performer"])
        ),
        listening={
            "frame_seconds": config["metrics"]["frame_seconds"],
            "fft_seconds": config["metrics"]["fft_size"]
            / config["audio"]["sample_rate"],
            "silence_threshold": config["metrics"]["silence_threshold"],
        },
        seed=config["seed"],
        work_dir="results/checkpoints/performer",
    script:
        "../workflow_scripts/train_performer.py"


rule train_composer:
    input:
        train="results/shards/{dataset}/notes/train.h5",
        validation="results/shards/{dataset}/notes/validation.h5",
    output:
        weights="results/notes/{dataset}/composer/model.weights.h5",
        info="results/notes/{dataset}/composer/model.json",
        history="results/notes/{dataset}/composer/history.csv",
    log:
        "logs/train_composer/{dataset}.log",
    benchmark:
        "results/benchmarks/train_composer/{dataset}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=GPUS,
    params:
        # the keys that only shape composing retrain nothing
        composer=COMPOSERS.training_settings(config["notes"]["composer"]),
        frame_seconds=config["notes"]["frame_seconds"],
        training=note_model_training(
            config, COMPOSERS.training_schedule(config["notes"]["composer"])
        ),
        seed=config["seed"],
        work_dir="results/checkpoints/{dataset}/composer",
    script:
        "../workflow_scripts/train_composer.py"


rule compose_notes:
    input:
        weights="results/notes/{dataset}/composer/model.weights.h5",
        info="results/notes/{dataset}/composer/model.json",
        test="results/shards/{dataset}/notes/test.h5",
    output:
        midi=expand("results/notes/{{dataset}}/composed/{piece}.mid", piece=PIECES),
        labels=expand("results/notes/{{dataset}}/composed/{piece}.csv", piece=PIECES),
        info="results/notes/{dataset}/composed/composition.json",
    log:
        "logs/compose_notes/{dataset}.log",
    benchmark:
        "results/benchmarks/compose_notes/{dataset}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        durations=[seconds for _, seconds, _ in COMPOSED_PIECES],
        sampling=COMPOSERS.sampling_settings(config["notes"]["composer"]),
        frame_seconds=config["notes"]["frame_seconds"],
        seed=config["seed"],
    script:
        "../workflow_scripts/compose_notes.py"


rule perform_notes:
    input:
        weights="results/notes/performer/model.weights.h5",
        info="results/notes/performer/model.json",
        composition="results/notes/{dataset}/composed/composition.json",
        labels=expand("results/notes/{{dataset}}/composed/{piece}.csv", piece=PIECES),
        test="results/shards/{dataset}/notes/test.h5",
        wavs=get_dataset_wavs,
    output:
        pieces=expand("results/performed/{{dataset}}/{piece}.wav", piece=PIECES),
        held_out=expand(
            "results/performed/{{dataset}}/held_out_{number}{kind}",
            number=PASSAGES,
            kind=[".wav", "_real.wav", ".csv"],
        ),
        info="results/performed/{dataset}/generation.json",
    log:
        "logs/perform_notes/{dataset}.log",
    benchmark:
        "results/benchmarks/perform_notes/{dataset}.tsv"
    # on the critical path after the performer: before the baselines' jobs waiting for cores
    priority: 10
    conda:
        "../envs/tensorflow.yaml"
    threads: config["generation"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        frame_seconds=config["notes"]["frame_seconds"],
        held_out_seconds=config["notes"]["held_out_seconds"],
        held_out_passages=config["notes"]["held_out_passages"],
        sampling=PERFORMERS.sampling_settings(config["notes"]["performer"]),
        sample_rate=config["audio"]["sample_rate"],
        seed=config["seed"],
    script:
        "../workflow_scripts/perform_notes.py"


rule synthesize_notes:
    input:
        composition="results/notes/{dataset}/composed/composition.json",
        midi=expand("results/notes/{{dataset}}/composed/{piece}.mid", piece=PIECES),
        soundfont=get_soundfont,
    output:
        pieces=expand(
            "results/synthesized/{{dataset}}/{piece}_synthesized.wav",
            piece=PIECES,
        ),
        info="results/synthesized/{dataset}/generation.json",
    log:
        "logs/synthesize_notes/{dataset}.log",
    benchmark:
        "results/benchmarks/synthesize_notes/{dataset}.tsv"
    conda:
        "../envs/corpus.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # the path (a missing soundfont is an input Snakemake cannot make: the job says what to do)
        soundfont=config["corpus"]["embedded"]["soundfont"],
        gain=config["corpus"]["embedded"]["gain"],
        sample_rate=config["audio"]["sample_rate"],
    script:
        "../workflow_scripts/synthesize_notes.py"
