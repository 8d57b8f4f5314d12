"""The composition root: builds storage, services, the dispatcher, platforms and the web
server from one validated `Config`, and runs them together."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol, cast

from bot.core.actions import MirrorGathering
from bot.core.clock import AdjustableClock, Clock
from bot.core.commands import CommandTable
from bot.core.communities import CommunityDirectory
from bot.core.config import Config, ConfigError, Secrets
from bot.core.platform import Capability, Platform, RunsUntilDone, ServesHttp
from bot.core.refs import MessageRef
from bot.features.conversation.service import ConversationService
from bot.features.digest.archive import Archive
from bot.features.digest.service import DigestService
from bot.features.feeds.reader import SafeFeedReader, fetch_settings
from bot.features.feeds.service import FeedService
from bot.features.gatherings.calendars import Calendars
from bot.features.gatherings.reminders import GatheringReminders
from bot.features.gatherings.service import GatheringService, TakeawaySection, UpcomingSection
from bot.features.goals.service import GoalService
from bot.features.help.service import HelpService
from bot.features.introductions.service import IntroductionService
from bot.features.links.previews import PreviewService
from bot.features.links.service import LinkService
from bot.features.loop.service import LoopService, OpenQuestionsSection, ReflectionsSection
from bot.features.members.service import MemberService
from bot.features.nudges.service import InvitationSection, NudgeService
from bot.features.onboarding.service import OnboardingService
from bot.features.prompts.service import PromptService
from bot.features.reports.service import ReportService
from bot.fetch.client import HostResolver, SafeFetcher
from bot.fetch.pool import ParserPool
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.housekeeping import purge_expired
from bot.runtime.scheduler import PokingClock, Scheduler
from bot.storage.database import Database
from bot.web.server import WebServer

log = logging.getLogger(__name__)

HOUSEKEEPING_EVERY = timedelta(hours=1)
FEED_POLL_WAKE = timedelta(minutes=1)


class PlatformFactory(Protocol):
    """What an adapter module exposes as `create_platform`."""

    def __call__(
        self,
        config: Config,
        secrets: Secrets,
        directory: CommunityDirectory,
        commands: CommandTable,
        clock: Clock,
    ) -> Platform: ...


def _factory(module: str) -> PlatformFactory:
    # Adapters are looked up by name: bot/ never imports discord or slack_bolt itself.
    factory: PlatformFactory = importlib.import_module(module).create_platform
    return factory


def console_wanted(config: Config, secrets: Secrets) -> bool:
    """The console runs when asked, or by default when no platform token is set."""
    if config.console.enabled == "on":
        return True
    if config.console.enabled == "off":
        return False
    return not secrets.any_platform


class Application:
    """One running Facilitator: every community, platform and service in one process."""

    def __init__(
        self,
        config: Config,
        *,
        secrets: Secrets,
        clock: Clock,
        platforms: Sequence[Platform] | None = None,
        batch_size: int = 500,
        resolver: HostResolver | None = None,
    ) -> None:
        self.config = config
        self.secrets = secrets
        if hasattr(clock, "advance"):
            clock = PokingClock(cast(AdjustableClock, clock), lambda: self.scheduler.poke())
        self.clock = clock
        self.database = Database(config.storage.url)
        self.directory = CommunityDirectory(config)
        self.dispatcher = Dispatcher(
            database=self.database,
            directory=self.directory,
            clock=clock,
            batch_size=batch_size,
        )
        self.commands = self.dispatcher.commands
        self.web = WebServer(config.web, self.health)
        self.archive: Archive | None = None
        archive_on = config.web.enabled and config.web.archive != "off"
        token = secrets.archive_token if config.web.archive == "private" else None
        if archive_on and config.web.archive == "private" and not token:
            raise ConfigError(
                f'{config.source}: web.archive: "private" needs a secret token; set the '
                "ARCHIVE_TOKEN environment variable (e.g. to the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe())'`)"
            )
        archive_url = f"{config.web.base_url}{f'/a/{token}' if token else ''}/digests"
        self.digests = DigestService(
            config.digest,
            self.directory,
            archive_url=archive_url if archive_on else None,
            database=self.database,
            perform=self.dispatcher.perform_one,
            texts=self.dispatcher.texts,
            clock=clock,
        )
        if archive_on:
            self.archive = Archive(
                database=self.database,
                digests=self.digests,
                directory=self.directory,
                texts=self.dispatcher.texts,
                clock=clock,
                base_url=config.web.base_url,
                token=token,
            )
            self.web.add_routes(self.archive.routes())
        self.scheduler = Scheduler(
            clock,
            self.database,
            grace=timedelta(hours=config.scheduler.grace_hours),
            track=self.dispatcher.track,
        )
        self.prompts = PromptService(
            database=self.database,
            directory=self.directory,
            scheduler=self.scheduler,
            perform=self.dispatcher.perform_one,
            texts=self.dispatcher.texts,
        )
        # Outbound HTTP: one fetcher and one parser pool, shared by previews and feeds.
        self.pool = ParserPool()
        self.fetcher = SafeFetcher(fetch_settings(config.fetch), resolver=resolver, clock=clock)
        self.previews = PreviewService(self.fetcher, self.pool, self.dispatcher.run_in_transaction)
        self.feeds = FeedService(
            config.feeds,
            SafeFeedReader(self.fetcher, self.pool, clock),
            clock,
            self.dispatcher.run_in_transaction,
            config.communities,
            command_prefix=self.directory.command_prefix,
        )
        self.digests.add_section(self.feeds)
        self.gatherings = GatheringService(
            config.gatherings,
            self.directory,
            web_url=config.web.base_url if config.web.enabled else None,
            calendar_prefix=f"/a/{token}" if token else "",
            runner=self.dispatcher.run_in_transaction,
            mirror=self._mirror,
            clock=clock,
            on_change=self._reload_reminders,
        )
        self.reminders = GatheringReminders(
            config.gatherings,
            directory=self.directory,
            database=self.database,
            scheduler=self.scheduler,
            perform=self.dispatcher.perform_one,
            clock=clock,
            texts=self.dispatcher.texts,
            on_end=self.gatherings.sync_mirror,
            announce=self.gatherings.announcement_posts,
        )
        self.digests.add_section(UpcomingSection())
        self.digests.add_section(TakeawaySection())
        if config.web.enabled:
            # A private archive keeps the public calendar private too (under the same secret).
            self.calendars = Calendars(
                database=self.database, clock=clock, prefix=f"/a/{token}" if token else ""
            )
            self.web.add_routes(self.calendars.routes())
        self.digests.add_section(ReflectionsSection())
        self.digests.add_section(OpenQuestionsSection())
        self.loop = LoopService(
            database=self.database, directory=self.directory, perform=self.dispatcher.perform_one
        )
        self.goals = GoalService(
            database=self.database,
            directory=self.directory,
            perform=self.dispatcher.perform_one,
            texts=self.dispatcher.texts,
        )
        self.introductions = IntroductionService(
            database=self.database,
            directory=self.directory,
            perform=self.dispatcher.perform_one,
            texts=self.dispatcher.texts,
            capabilities=self.dispatcher.capabilities,
        )
        self.nudges = NudgeService(
            database=self.database,
            directory=self.directory,
            perform=self.dispatcher.perform_one,
            texts=self.dispatcher.texts,
            clock=clock,
            capabilities=self.dispatcher.capabilities,
        )
        self.digests.add_section(InvitationSection(self.nudges, clock))
        self.onboarding = OnboardingService(
            database=self.database,
            directory=self.directory,
            perform=self.dispatcher.perform_one,
            clock=clock,
        )
        links = LinkService(config.links, self.previews.schedule if config.fetch.previews else None)
        for service in (
            ConversationService(),
            links,
            self.loop,  # after links: it asks about the shares links just stored
            self.onboarding,
            self.goals,
            self.introductions,
            self.nudges,
            MemberService(self.directory),
            ReportService(self.directory),
            self.digests,
            self.prompts,
            self.feeds,
            self.gatherings,
            HelpService(self.commands),
        ):
            self.dispatcher.add_service(service)
        self._given_platforms = platforms
        self.platforms: list[Platform] = []
        self._housekeeping: asyncio.Task[None] | None = None
        self._polling: asyncio.Task[None] | None = None

    async def _reload_reminders(self) -> None:
        await self.reminders.reload()

    async def _mirror(self, action: MirrorGathering) -> MessageRef | None:
        """Perform a mirror action where the platform has scheduled events; else None."""
        for platform in self.platforms:
            if platform.name == action.platform and (
                Capability.SCHEDULED_EVENTS in platform.capabilities
            ):
                return await platform.perform(action)
        return None

    def build_platforms(self) -> list[Platform]:
        """The platforms this configuration and environment ask for."""
        wanted: list[Platform] = []
        on = {name for c in self.config.communities for name in c.platforms}
        args = (self.config, self.secrets, self.directory, self.commands, self.clock)
        if self.secrets.discord_token and "discord" in on:
            wanted.append(_factory("adapters.discord")(*args))
        if self.secrets.slack_bot_token and "slack" in on:
            wanted.append(_factory("adapters.slack")(*args))
        if console_wanted(self.config, self.secrets):
            wanted.append(_factory("adapters.console")(*args))
        return wanted

    async def health(self) -> dict[str, Any]:
        """What `/healthz` reports."""
        try:
            async with self.database.reading() as conn:
                await conn.exec_driver_sql("SELECT 1")
            database = "ok"
        except Exception as error:  # the report must answer even when storage is down
            database = f"error: {type(error).__name__}"
        return {
            "status": "ok" if database == "ok" else "degraded",
            "database": database,
            "platforms": [platform.name for platform in self.platforms],
            "communities": [community.name for community in self.config.communities],
        }

    async def start(self) -> None:
        """Migrate, start the dispatcher, the web server and every platform."""
        await self.database.migrate()
        await purge_expired(self.database, self.config.retention, self.clock.now())
        await self.dispatcher.start()
        await self.fetcher.start()
        await self.feeds.sync_configured()
        self.platforms = (
            list(self._given_platforms)
            if self._given_platforms is not None
            else self.build_platforms()
        )
        self._mount_platform_routes()
        if self.config.web.enabled:
            await self.web.start()
        for platform in self.platforms:
            self.dispatcher.attach(platform)
            await platform.start(self.dispatcher)
        self._housekeeping = asyncio.create_task(self._keep_house(), name="housekeeping")
        await self.prompts.load()
        jobs = [
            *self.digests.jobs(),
            *self.goals.jobs(),
            *self.introductions.jobs(),
            *self.nudges.jobs(),
        ]
        for job in jobs:
            self.scheduler.add(job)
        await self.reminders.load()
        await self.scheduler.start()
        self._polling = asyncio.create_task(self._poll_feeds(), name="feed polling")

    async def _poll_feeds(self) -> None:
        # The loop only wakes the process; which feeds are due comes from the database and the
        # injected clock, so tests call `feeds.poll_due()` directly instead of waiting.
        while True:
            await asyncio.sleep(FEED_POLL_WAKE.total_seconds())
            try:
                await self.feeds.poll_due()
            except Exception:
                log.exception("feed polling failed; will try again in a minute")

    def _mount_platform_routes(self) -> None:
        """Mount the HTTP endpoints platforms serve (Slack's /slack/events in HTTP mode)."""
        for platform in self.platforms:
            if not isinstance(platform, ServesHttp):
                continue
            routes = platform.http_routes()
            if not routes:
                continue
            if not self.config.web.enabled:
                raise ConfigError(
                    f"{self.config.source}: web.enabled is false, but {platform.name} needs the "
                    "web server for its HTTP endpoint; set [web] enabled = true"
                )
            self.web.add_routes(routes)

    async def _keep_house(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_EVERY.total_seconds())
            try:
                await purge_expired(self.database, self.config.retention, self.clock.now())
            except Exception:
                log.exception("retention purge failed; will try again in an hour")

    async def wait_done(self) -> None:
        """Return when a platform that can finish (the console) has finished; else never."""
        finishing = [
            asyncio.ensure_future(platform.wait_done())
            for platform in self.platforms
            if isinstance(platform, RunsUntilDone)
        ]
        if not finishing:
            await asyncio.Event().wait()
        await asyncio.wait(finishing, return_when=asyncio.FIRST_COMPLETED)

    async def drain(self) -> None:
        """Wait until everything delivered so far is committed and its actions performed."""
        await self.dispatcher.drain()

    async def stop(self) -> None:
        """Stop platforms, finish queued work, close the web server and the database."""
        await self.scheduler.stop()
        for task in (self._housekeeping, self._polling):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for platform in self.platforms:
            try:
                await platform.stop()
            except Exception:
                log.exception("%s did not stop cleanly", platform.name)
        await self.previews.close()
        await self.dispatcher.stop()
        await self.web.stop()
        await self.fetcher.close()
        self.pool.close()
        await self.database.close()
