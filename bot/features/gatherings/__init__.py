"""gatherings."""
