"""Feeds: members' blogs and the community's feeds, polled safely, in the digest."""

from bot.features.digest import DigestSettings
from bot.features.feeds.config import SECTION, FeedSettings
from bot.features.feeds.store import MemberPost, member_posts
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.feeds.reader import SafeFeedReader
from bot.features.feeds.service import FeedService


def build(kernel: Kernel) -> list[Service]:
    """Feed following and polling."""
    return [
        FeedService(
            kernel.config.section(FeedSettings),
            SafeFeedReader(kernel.fetcher, kernel.pool, kernel.clock),
            kernel.clock,
            kernel.run_in_transaction,
            kernel.config.communities,
            command_prefix=kernel.directory.command_prefix,
            digest_caps=kernel.config.section(DigestSettings),
        )
    ]


FEATURE = Feature(name="feeds", build=build, member_tables=("feeds",), settings=(SECTION,))

__all__ = [
    "FEATURE",
    "FeedService",
    "FeedSettings",
    "MemberPost",
    "SafeFeedReader",
    "member_posts",
]
