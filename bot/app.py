"""The composition root: the kernel, then every feature in `bot.features.FEATURES`, then the
platforms; `start` and `stop` bring them up and down in that order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TypeVar, cast

from bot.core.clock import AdjustableClock, Clock
from bot.core.communities import CommunityDirectory
from bot.core.config import Config, Secrets
from bot.core.platform import Platform
from bot.features import FEATURES
from bot.fetch.client import HostResolver, SafeFetcher, fetch_settings
from bot.fetch.pool import ParserPool
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.feature import Feature, Kernel, Registry, check_order, web_paths
from bot.runtime.lifecycle import Lifecycle
from bot.runtime.scheduler import PokingClock, Scheduler
from bot.runtime.service import Service
from bot.storage.database import Database
from bot.web.server import WebServer

S = TypeVar("S", bound=Service)


class Application(Lifecycle):
    """One running Facilitator: every community, platform and feature in one process."""

    def __init__(
        self,
        config: Config,
        *,
        secrets: Secrets,
        clock: Clock,
        platforms: Sequence[Platform] | None = None,
        batch_size: int = 500,
        resolver: HostResolver | None = None,
        features: Sequence[Feature] = FEATURES,
    ) -> None:
        check_order(features)
        if hasattr(clock, "advance"):
            clock = PokingClock(cast(AdjustableClock, clock), lambda: self.scheduler)
        self.config, self.secrets, self.clock = config, secrets, clock
        self.database = Database(config.storage.url)
        self.directory = CommunityDirectory(config)
        lease = timedelta(seconds=config.scheduler.lease_seconds)
        self.dispatcher = Dispatcher(
            database=self.database,
            directory=self.directory,
            clock=clock,
            batch_size=batch_size,
            lease=lease,
        )
        self.commands = self.dispatcher.commands
        self.web = WebServer(config.web, self.health)
        self.scheduler = Scheduler(
            clock,
            self.database,
            grace=timedelta(hours=config.scheduler.grace_hours),
            lease=lease,
            track=self.dispatcher.track,
            outbox=self.dispatcher.outbox,
        )
        # Outbound HTTP: one fetcher and one parser pool, shared by every feature.
        self.pool = ParserPool()
        self.fetcher = SafeFetcher(fetch_settings(config.fetch), resolver=resolver, clock=clock)
        self.registry = Registry(features=list(features))
        kernel = Kernel(
            config=config,
            secrets=secrets,
            clock=clock,
            database=self.database,
            directory=self.directory,
            commands=self.commands,
            scheduler=self.scheduler,
            fetcher=self.fetcher,
            pool=self.pool,
            run_in_transaction=self.dispatcher.run_in_transaction,
            outbox=self.dispatcher.outbox,
            texts=self.dispatcher.texts,
            capabilities=self.dispatcher.capabilities,
            web=web_paths(config, secrets),
            registry=self.registry,
        )
        for feature in features:
            for service in feature.build(kernel):
                self.registry.services.append(service)
                self.dispatcher.add_service(service)
                self.web.add_routes(service.web_routes())
        self._given_platforms = platforms
        self.platforms: list[Platform] = []

    def service(self, kind: type[S]) -> S:
        """The one running service of type `kind` (for the CLI and tests)."""
        found = [service for service in self.registry if isinstance(service, kind)]
        if len(found) != 1:
            raise LookupError(f"{len(found)} services of type {kind.__name__} are running")
        return found[0]


__all__ = ["Application"]
