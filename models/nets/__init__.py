"""The networks, apart from the adapters that train and play them (models.raw_audio, models.notes)."""
