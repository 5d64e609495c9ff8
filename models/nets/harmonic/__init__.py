"""The harmonic performer's network: `spec` (light), and `network`, a control network that all
88 keys share (a DDSP decoder) feeding the harmonic-plus-noise synthesizer (models.notes.synths),
with its compiled trainer."""
