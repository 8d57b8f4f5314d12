"""The member's home page (Slack's App Home): their week, goal, sessions, settings and the
latest digest, published when they open it and after their changes."""

from bot.core.actions import Content
from bot.core.config import CommunitySettings
from bot.core.i18n import Catalog
from bot.core.weeks import IsoWeek
from bot.features.digest import DigestService, to_content
from bot.features.home.page import HomeRequest, build_home
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service
from bot.storage import Connection

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.home.service import PUBLISHED, HomeService


def build(kernel: Kernel) -> list[Service]:
    """The home page's publisher."""

    async def digest_content(
        conn: Connection, community: CommunitySettings, week: IsoWeek, texts: Catalog
    ) -> Content:
        # Looked up when needed: the feature list's order (shuffled in tests) decides
        # whether the digest is built before this feature.
        digests = next(s for s in kernel.registry if isinstance(s, DigestService))
        digest = await digests.build(conn, community, week, texts, kernel.clock.now())
        return to_content(digest, texts, archive_url=digests.archive_link(community.name, week))

    service = HomeService(
        directory=kernel.directory,
        texts=kernel.texts,
        run=kernel.run_in_transaction,
        digest=digest_content,
    )
    kernel.outbox.on_delivered(PUBLISHED, service.published)
    return [service]


FEATURE = Feature(name="home", build=build, member_tables=("home_views",))

__all__ = ["FEATURE", "HomeRequest", "HomeService", "build_home"]
