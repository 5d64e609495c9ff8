# Every selected recording, mp3 or wav at any rate, to mono PCM at audio.sample_rate.


rule convert_audio:
    input:
        audio=lambda wc: RECORDINGS[int(wc.id)].audio,
    output:
        wav="results/wav/{id}.wav",
    log:
        "logs/convert_audio/{id}.log",
    benchmark:
        "results/benchmarks/convert_audio/{id}.tsv"
    conda:
        "../envs/audio.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        sample_rate=config["audio"]["sample_rate"],
    script:
        "../workflow_scripts/convert_audio.py"
