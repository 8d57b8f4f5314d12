"""What a feature is to the runtime: one `Feature` in `bot/features/__init__.py`, built from the
`Kernel` into the services that hold its commands, event handlers, jobs, digest sections, web
routes and member data.

Features never construct one another: what one needs of the others (the digest's sections,
every feature's member tables) it asks the kernel's `Registry` for, once all are built.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.clock import Clock
from bot.core.commands import CommandTable
from bot.core.communities import CommunityDirectory
from bot.core.config import Config, ConfigError, ConfigSection, Secrets
from bot.core.i18n import Catalog
from bot.core.platform import Capability
from bot.fetch.client import SafeFetcher
from bot.fetch.pool import ParserPool
from bot.runtime.outbox import Outbox
from bot.runtime.scheduler import Scheduler
from bot.runtime.sections import SectionProvider
from bot.runtime.service import Runner, Service
from bot.storage.database import Database
from bot.storage.member_data import KERNEL_MEMBER_TABLES


class FeatureOrderError(ValueError):
    """The feature list names a feature after one that must come later, or twice."""


@dataclass(slots=True)
class Registry:
    """The services every feature built, in the feature list's order."""

    features: list[Feature] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def digest_sections(self) -> list[SectionProvider]:
        """Every section any feature contributes (the digest orders them by position)."""
        return [section for service in self.services for section in service.digest_sections()]

    def member_tables(self) -> frozenset[str]:
        """Every table with member data: the kernel's and those the features own."""
        return member_tables(self.features)


def member_tables(features: Sequence[Feature]) -> frozenset[str]:
    """The tables `/export` and `/forget-me` cover: the kernel's and each feature's."""
    return KERNEL_MEMBER_TABLES | {table for feature in features for table in feature.member_tables}


@dataclass(frozen=True, slots=True)
class WebPaths:
    """Where the bot's own pages are, as members see them (None: not served)."""

    base_url: str | None  # the web server's public address, when it runs
    archive_url: str | None  # the digest archive, when it is on
    private_prefix: str  # "/a/<token>" for a private archive and calendar, else ""
    token: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Kernel:
    """Everything a feature is built from: shared, feature-neutral collaborators."""

    config: Config
    secrets: Secrets
    clock: Clock
    database: Database
    directory: CommunityDirectory
    commands: CommandTable
    scheduler: Scheduler
    fetcher: SafeFetcher
    pool: ParserPool
    run_in_transaction: Runner
    # Every platform effect is an outbox row (`Transaction.emit`, `RunContext.emit`, or an
    # action a handler returns); features register here what a confirmation records.
    outbox: Outbox
    texts: Callable[[str], Catalog]
    capabilities: Callable[[str], frozenset[Capability]]
    web: WebPaths
    registry: Registry


@dataclass(frozen=True, slots=True, kw_only=True)
class Feature:
    """One room of the house: its name, how to build it, and whom it must follow.

    `after` names features whose writes in the same batch this one reads (their event handlers
    run first); everything not declared may run in any order.
    """

    name: str
    build: Callable[[Kernel], Sequence[Service]]
    after: tuple[str, ...] = ()
    # The tables holding member data this feature owns: `/export` and `/forget-me` cover them
    # (tests/test_architecture.py checks that every such table has an owner).
    member_tables: tuple[str, ...] = ()
    # The top-level tables of config.toml this feature owns, each read into its dataclass.
    settings: tuple[ConfigSection[Any], ...] = ()


def check_order(features: Sequence[Feature]) -> None:
    """Refuse a list where a feature comes before one it declares it runs after."""
    seen: set[str] = set()
    names = [feature.name for feature in features]
    for feature in features:
        if feature.name in seen:
            raise FeatureOrderError(f"feature {feature.name!r} is listed twice")
        for earlier in feature.after:
            if earlier not in names:
                raise FeatureOrderError(f"{feature.name} runs after {earlier!r}, not a feature")
            if earlier not in seen:
                raise FeatureOrderError(
                    f"{feature.name} must be listed after {earlier}: it reads what {earlier} "
                    "writes in the same batch"
                )
        seen.add(feature.name)


def web_paths(config: Config, secrets: Secrets) -> WebPaths:
    """Where the archive and calendars are served, checked against the config."""
    web = config.web
    archive_on = web.enabled and web.archive != "off"
    token = secrets.archive_token if web.archive == "private" else None
    if archive_on and web.archive == "private" and not token:
        raise ConfigError(
            f'{config.source}: web.archive: "private" needs a secret token; set the '
            "ARCHIVE_TOKEN environment variable (e.g. to the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    prefix = f"/a/{token}" if token else ""
    return WebPaths(
        base_url=web.base_url if web.enabled else None,
        archive_url=f"{web.base_url}{prefix}/digests" if archive_on else None,
        private_prefix=prefix,
        token=token,
    )


def shuffled(features: Sequence[Feature], seed: int) -> list[Feature]:
    """A random order of `features` that keeps every declared `after` (for tests)."""
    rng, left = random.Random(seed), list(features)
    order: list[Feature] = []
    while left:
        ready = [f for f in left if all(a in {o.name for o in order} for a in f.after)]
        order.append(pick := rng.choice(ready))
        left.remove(pick)
    return order
