"""Shared helpers for the sonata workflow: audio I/O, mu-law, windowing, catalog, config."""


class SonataError(RuntimeError):
    """An input problem the user can fix; the message names the input and the fix."""
