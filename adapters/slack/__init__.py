"""The Slack adapter: `platform` (bolt app, Socket Mode or HTTP, perform), `translate`
(payloads to core events), `render` (content to Block Kit), `commands` (the slash command and
its modals); `manifest.yaml` creates the Slack app."""
