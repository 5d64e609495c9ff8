"""Test helper: with SONATA_FORBID_CONFIG=1 on PYTHONPATH, a rule script that reads
`snakemake.config` fails. The job's `snakemake` object still carries the config (Snakemake
pickles it into the script), but reading it raises; every other field reads as usual."""

import os

if os.environ.get("SONATA_FORBID_CONFIG") == "1":
    from snakemake.iocontainers import Snakemake

    def _forbidden(self):
        raise RuntimeError(
            f"rule {self.rule!r} read snakemake.config; declare the value in the rule's params:"
        )

    def _store(self, value):
        self.__dict__["_config_not_for_scripts"] = value

    Snakemake.config = property(_forbidden, _store)
