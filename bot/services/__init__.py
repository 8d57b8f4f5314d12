"""Outbound service layer of the bot."""
