"""The console adapter: `platform` (reads lines, shows what the bot does), `translate` (the
line syntax), `render` (content as terminal text)."""
