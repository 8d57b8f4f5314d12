"""introductions."""
