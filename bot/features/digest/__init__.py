"""The weekly digest: built from the week's activity and every feature's sections, curated
by facilitators, posted on schedule, and kept in a web archive with Atom feeds."""

from bot.features.digest.config import SCHEDULE, SECTION, DigestSchedule, DigestSettings
from bot.features.digest.render import to_content
from bot.features.digest.store import issues, link_infos, week_shares
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.digest.archive import Archive
from bot.features.digest.service import POSTED_HOOK, DigestService, digest_posted


def build(kernel: Kernel) -> list[Service]:
    """The digest, and its archive when the web server serves one."""
    kernel.outbox.on_delivered(POSTED_HOOK, digest_posted)
    digests = DigestService(
        kernel.config.section(DigestSettings),
        kernel.directory,
        archive_url=kernel.web.archive_url,
        contributed=kernel.registry.digest_sections,
        database=kernel.database,
        texts=kernel.texts,
        clock=kernel.clock,
    )
    services: list[Service] = [digests]
    if kernel.web.archive_url is not None and kernel.web.base_url is not None:
        services.append(
            Archive(
                database=kernel.database,
                digests=digests,
                directory=kernel.directory,
                texts=kernel.texts,
                clock=kernel.clock,
                base_url=kernel.web.base_url,
                token=kernel.web.token,
            )
        )
    return services


FEATURE = Feature(
    name="digest", build=build, member_tables=("digest_choices",), settings=(SECTION, SCHEDULE)
)

__all__ = [
    "FEATURE",
    "Archive",
    "DigestSchedule",
    "DigestService",
    "DigestSettings",
    "issues",
    "link_infos",
    "to_content",
    "week_shares",
]
