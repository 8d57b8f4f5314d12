"""The Discord adapter: `platform` (connection, start/stop, perform), `translate` (payloads to
core events), `render` (content to message bodies), `commands` (application commands)."""
