"""Keras models of the study and their fast generation loops."""
