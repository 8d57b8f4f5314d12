"""Links: captured from messages, canonicalised, de-duplicated, reacted to and described
(title and site name, fetched after the commit)."""

from bot.features.links.config import SECTION, LinkSettings
from bot.features.links.store import (
    NewShare,
    StoredShare,
    links_seen_by,
    record_shares,
    stored_shares_of_message,
)
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.links.previews import PreviewService
from bot.features.links.service import LinkService


def build(kernel: Kernel) -> list[Service]:
    """Link capture, and the previews that describe new links."""
    previews = PreviewService(kernel.fetcher, kernel.pool, kernel.run_in_transaction)
    describe = previews.schedule if kernel.config.fetch.previews else None
    return [LinkService(kernel.config.section(LinkSettings), describe), previews]


FEATURE = Feature(name="links", build=build, member_tables=("shares",), settings=(SECTION,))

__all__ = [
    "FEATURE",
    "LinkService",
    "LinkSettings",
    "NewShare",
    "PreviewService",
    "StoredShare",
    "links_seen_by",
    "record_shares",
    "stored_shares_of_message",
]
