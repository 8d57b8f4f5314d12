"""The console writes times itself: in what one member alone reads, in the zone they set."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from adapters.console.platform import ConsolePlatform
from bot.core import (
    Answer,
    ChannelRef,
    CommandTable,
    CommunityDirectory,
    Content,
    Edit,
    InteractionRef,
    MemberRef,
    Post,
    SendDirect,
)
from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.core.platform import Bound, apply_binding

MOMENT = int(datetime(2026, 11, 26, 17, 0, tzinfo=UTC).timestamp())  # 18:00 in Berlin


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


class ZoneSink:
    """Just enough of the runtime for `perform`: bindings, and the zones members set."""

    def __init__(self, directory: CommunityDirectory, zones: dict[str, str]) -> None:
        self.directory = directory
        self.zones = zones
        self.asked: list[str] = []

    def bind(self, binding: Bound) -> None:
        apply_binding(self.directory, binding)

    async def drain(self) -> None:
        return None

    async def reader_zone(self, member: MemberRef) -> str | None:
        self.asked.append(member.member)
        return self.zones.get(member.member)


async def test_private_answers_dms_and_their_edits_use_the_readers_zone(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    config = config_for()
    directory = CommunityDirectory(config)
    out = io.StringIO()
    console = ConsolePlatform(config, directory, CommandTable(), clock, lines=_nothing(), out=out)
    sink = ZoneSink(directory, {"alice": "America/New_York", "mars": "Mars/Olympus_Mons"})
    await console.start(sink)  # type: ignore[arg-type]
    await console.wait_done()
    general = ChannelRef("console", "", "general")
    said = Content(text=f"starts <t:{MOMENT}>")

    def shown() -> str:
        text = out.getvalue()
        out.truncate(0)
        out.seek(0)
        return text.splitlines()[0]

    shown()  # the banner
    dm = await console.perform(SendDirect(member=MemberRef("console", "", "alice"), content=said))
    assert shown() == "✉ to alice: starts Thu 26 Nov 2026 12:00 EST"
    assert dm is not None
    await console.perform(Edit(message=dm, content=said))
    assert shown() == "[?] Facilitator edited: starts Thu 26 Nov 2026 12:00 EST"
    to_alice = InteractionRef("console", "alice:k1", general)
    await console.perform(Answer(to=to_alice, content=said))
    assert shown() == "(only alice sees this) starts Thu 26 Nov 2026 12:00 EST"
    # what everyone reads, or someone who set no zone (or one tzdata no longer knows)
    await console.perform(Answer(to=to_alice, content=said, ephemeral=False))
    assert shown() == "Facilitator: starts Thu 26 Nov 2026 18:00 CET"
    await console.perform(Post(channel=general, content=said))
    assert shown().endswith("#general Facilitator: starts Thu 26 Nov 2026 18:00 CET")
    for who in ("bob", "mars"):
        await console.perform(
            Answer(to=InteractionRef("console", f"{who}:k", general), content=said)
        )
        assert shown() == f"(only {who} sees this) starts Thu 26 Nov 2026 18:00 CET"
    assert "alice" in sink.asked and sink.asked.count("bob") == 1
    await console.stop()
