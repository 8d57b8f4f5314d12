"""Live sessions ("gatherings"): scheduling, RSVPs, reminders in every member's zone, fair
times, takeaways, calendars, and the platforms' own scheduled events."""

from bot.features.gatherings.config import SECTION, GatheringSettings
from bot.features.gatherings.recurrence import next_occurrence, to_utc
from bot.features.gatherings.store import UpcomingSession, list_gatherings, upcoming_sessions
from bot.features.gatherings.when import EXAMPLES as WHEN_EXAMPLES
from bot.features.gatherings.when import WhenError, parse_when
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.gatherings.calendars import Calendars
from bot.features.gatherings.reminders import THREAD_OPENED, GatheringReminders, takeaways_opened
from bot.features.gatherings.service import MIRRORED, GatheringService


def build(kernel: Kernel) -> list[Service]:
    """Sessions, their reminders, and the calendar feeds when the web server runs."""
    settings = kernel.config.section(GatheringSettings)

    async def reload_reminders() -> None:
        await reminders.reload()

    gatherings = GatheringService(
        settings,
        kernel.directory,
        web_url=kernel.web.base_url,
        calendar_prefix=kernel.web.private_prefix,
        capabilities=kernel.capabilities,
        clock=kernel.clock,
        on_change=reload_reminders,
    )
    reminders = GatheringReminders(
        settings,
        directory=kernel.directory,
        database=kernel.database,
        scheduler=kernel.scheduler,
        clock=kernel.clock,
        texts=kernel.texts,
        on_end=gatherings.mirror_effects,
        announce=gatherings.announcement_posts,
    )
    kernel.outbox.on_delivered(MIRRORED, gatherings.mirrored)
    kernel.outbox.on_delivered(THREAD_OPENED, takeaways_opened)
    services: list[Service] = [gatherings, reminders]
    if kernel.web.base_url is not None:
        # A private archive keeps the public calendar private too (under the same secret).
        prefix = kernel.web.private_prefix
        services.append(Calendars(database=kernel.database, clock=kernel.clock, prefix=prefix))
    return services


FEATURE = Feature(
    name="gatherings",
    build=build,
    member_tables=(
        "gatherings",
        "gathering_questions",
        "gathering_drafts",
        "rsvps",
        "takeaways",
        "calendar_tokens",
    ),
    settings=(SECTION,),
)

__all__ = [
    "FEATURE",
    "WHEN_EXAMPLES",
    "Calendars",
    "GatheringReminders",
    "GatheringService",
    "GatheringSettings",
    "UpcomingSession",
    "WhenError",
    "list_gatherings",
    "next_occurrence",
    "parse_when",
    "to_utc",
    "upcoming_sessions",
]
