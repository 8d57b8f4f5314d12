"""Platform adapters: Discord, Slack and the console."""
