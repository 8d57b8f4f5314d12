"""Facilitator: a bot that facilitates connectivist learning communities."""
