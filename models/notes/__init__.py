"""The notes route's learnable parts: composers write note tokens, performers play note tables."""
