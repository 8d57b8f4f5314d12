"""Members' own blogs (and community feeds), followed through RSS/Atom.

Network work never happens inside a database transaction: `/feed add` answers at once and
checks the feed in the background; polling fetches first and writes each feed's outcome in a
short transaction of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from bot.core.actions import Action, Content, SendDirect
from bot.core.clock import Clock
from bot.core.commands import CommandSpec, Param, ParamKind
from bot.core.config import CommunitySettings
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.core.refs import MemberRef
from bot.core.schedules import parse_rule
from bot.core.suggestions import Suggestion, label, matching
from bot.core.urls import canonicalise, domain_of
from bot.features.digest import DigestSettings
from bot.features.feeds import store
from bot.features.feeds.config import FeedSettings
from bot.runtime.scheduler import Job, RunContext
from bot.runtime.sections import DigestRequest, Entry, Section, SectionProvider
from bot.runtime.service import (
    CommandHandler,
    Invocation,
    Offer,
    Runner,
    Service,
    SuggestionQuery,
    SuggestionSource,
    Transaction,
)
from bot.storage import Connection

log = logging.getLogger(__name__)

POLL_JOB = "feeds:poll"
# Every 5 minutes (the shortest interval a feed may have), off the minutes where hourly and
# daily schedules usually fall, so polling never competes with a digest or prompt run.
POLL_EVERY = "2-57/5 * * * *"


class FeedProblem(Exception):
    """A feed could not be read; `reason` is for people, `retry_after` from the server."""

    def __init__(self, reason: str, retry_after: timedelta | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class PolledFeed:
    """What one poll of a feed gave."""

    not_modified: bool = False
    title: str | None = None
    site_url: str | None = None
    problem: str | None = None  # the document was malformed (read as far as it went)
    entries: tuple[store.NewEntry, ...] = ()
    etag: str | None = None
    last_modified: str | None = None


class FeedSource(Protocol):
    """Fetches and parses feeds safely (see `bot.features.feeds.reader`)."""

    async def discover(self, url: str) -> str:
        """The feed URL for a feed or a page that links to one; raise FeedProblem."""
        ...

    async def read(self, url: str, etag: str | None, last_modified: str | None) -> PolledFeed:
        """Fetch (conditionally) and parse a feed; raise FeedProblem."""
        ...


@dataclass(slots=True)
class PollReport:
    """What one polling round did."""

    polled: int = 0
    new_entries: int = 0
    not_modified: int = 0
    failed: int = 0
    problems: int = 0  # read, but malformed
    paused: list[int] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (feed URL, reason)


FEED = CommandSpec(
    name="feed",
    help="Follow your own blog so its posts reach the weekly digest",
    subcommands=(
        CommandSpec(
            name="add",
            help="Follow your blog (its address or its feed's); older posts are not announced",
            example="/feed add https://myblog.example.org",
            params=(
                Param(name="url", help="Your blog's or feed's address"),
                Param(
                    name="backfill",
                    help="Type backfill to include posts older than today",
                    kind=ParamKind.CHOICE,
                    choices=("backfill",),
                    required=False,
                ),
            ),
        ),
        CommandSpec(
            name="list", help="The feeds you and the community follow", example="/feed list"
        ),
        CommandSpec(
            name="remove",
            help="Stop following one of your feeds",
            example="/feed remove 3",
            params=(
                Param(
                    name="id",
                    help="The feed's number from /feed list",
                    kind=ParamKind.INTEGER,
                    suggests="feeds",
                ),
            ),
        ),
    ),
)


class FeedService(Service):
    """Follows feeds and contributes the digest's blog-post section."""

    name = "feeds"
    kind = "blog_posts"
    position = 30

    def __init__(
        self,
        settings: FeedSettings,
        reader: FeedSource,
        clock: Clock,
        runner: Runner,
        communities: Sequence[CommunitySettings] = (),
        *,
        command_prefix: Callable[[str], str],
        digest_caps: DigestSettings | None = None,
    ) -> None:
        self._command_prefix = command_prefix
        self._digest_caps = digest_caps or DigestSettings()
        self._settings = settings
        self._reader = reader
        self._clock = clock
        self._run = runner
        self._communities = list(communities)

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """The feed commands."""
        return (
            (
                FEED,
                {
                    ("feed", "add"): self.add,
                    ("feed", "list"): self.list_feeds,
                    ("feed", "remove"): self.remove,
                },
            ),
        )

    def suggestions(self) -> Mapping[str, SuggestionSource]:
        """Feeds the caller may remove: their own (facilitators: then every other)."""
        return {"feeds": self.suggest_feeds}

    async def suggest_feeds(self, query: SuggestionQuery, conn: Connection) -> list[Suggestion]:
        """The caller's feeds, newest first; a facilitator's list goes on with the rest of the
        community's (members never see whose other feeds there are)."""
        found = await store.recent_feeds(conn, query.community.name, limit=200)
        own = [f for f in found if f.owner_ref == query.member]
        others = [f for f in found if f.owner_ref != query.member] if query.is_facilitator else []
        shown: list[Suggestion] = []
        for feed in [*own, *others]:
            name = feed.title or feed.url.split("://", 1)[-1]
            if query.typed and not matching(query.typed, str(feed.id), name, feed.url):
                continue
            whose = "" if feed.owner_ref == query.member else query.texts("feeds.suggest_not_yours")
            shown.append(Suggestion(str(feed.id), label(str(feed.id), name, whose)))
        return shown[: query.limit]

    # --- commands -----------------------------------------------------------------------

    async def add(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Check the feed in the background, then follow it and say so."""
        t = call.texts
        url = canonicalise(str(call.arguments["url"]))
        if url is None:
            return [call.answer(t("feeds.bad_url", url=escape(str(call.arguments["url"]))))]
        backfill = call.arguments.get("backfill") == "backfill"
        community = call.community.name
        owner = str(call.author.ref)

        async def check_and_follow() -> None:
            try:
                feed_url = await self._reader.discover(url)
                read = await self._reader.read(feed_url, None, None)
            except FeedProblem as problem:
                log.info("feed %s refused: %s", url, problem.reason)
                answer = t("feeds.unreadable", url=escape(url), reason=escape(problem.reason))
                await self._run(lambda _tx: _answer(call, answer))
                return

            async def follow(tx2: Transaction) -> list[Action]:
                feed = await store.add_feed(
                    tx2.conn,
                    community=community,
                    url=feed_url,
                    title=read.title,
                    site_url=read.site_url,
                    owner_ref=owner,
                    backfill=backfill,
                    now=tx2.now,
                )
                if feed is None:
                    return [call.answer(t("feeds.already", url=escape(feed_url)))]
                await store.store_entries(tx2.conn, feed, read.entries, tx2.now)
                await store.update_feed(
                    tx2.conn,
                    feed.id,
                    etag=read.etag,
                    last_modified=read.last_modified,
                    next_poll_at=tx2.now + timedelta(minutes=self._settings.poll_minutes),
                )
                return [
                    call.answer(
                        t(
                            "feeds.added",
                            id=feed.id,
                            title=escape(read.title or feed_url),
                            url=escape(feed_url),
                            backfill=t("feeds.with_backfill") if backfill else "",
                        )
                    )
                ]

            await self._run(follow)

        tx.after_commit(check_and_follow)
        return [call.answer(t("feeds.checking", url=escape(url)))]

    async def list_feeds(self, call: Invocation, tx: Transaction) -> list[Action]:
        """The caller's feeds and the community's."""
        t = call.texts
        found = await store.list_feeds(tx.conn, call.community.name, str(call.author.ref))
        if not found:
            return [call.answer(t("feeds.none", prefix=call.prefix))]
        lines = [t("feeds.list_heading")]
        for feed in found:
            whose = t("feeds.community_feed") if feed.owner_ref is None else ""
            state = t("feeds.paused", error=escape(feed.last_error or "")) if feed.paused else ""
            title = escape(feed.title or feed.url)
            site = t("feeds.site", url=escape(feed.site_url)) if feed.site_url else ""
            if feed.problem and not feed.paused:
                state += t("feeds.problem", problem=escape(feed.problem))
            lines.append(f"{feed.id}. {title} — {escape(feed.url)}{site}{whose}{state}")
        return [call.answer("\n".join(lines))]

    async def remove(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Stop following a feed the caller owns (facilitators: any feed)."""
        t = call.texts
        feed_id = int(call.arguments["id"])
        feed = await store.get_feed(tx.conn, feed_id)
        if feed is None or feed.community != call.community.name:
            owner = None if call.is_facilitator else str(call.author.ref)
            mine = [
                feed
                for feed in await store.list_feeds(tx.conn, call.community.name, owner)
                if call.is_facilitator or feed.owner_ref == owner  # what the caller may remove
            ]
            offers = [Offer(str(f.id), f.title or f.url) for f in reversed(mine)]
            return [call.no_such(t("feeds.unknown", id=feed_id, prefix=call.prefix), offers)]
        if feed.owner_ref != str(call.author.ref) and not call.is_facilitator:
            return [call.answer(t("feeds.not_yours", id=feed_id))]
        await store.remove_feed(tx.conn, feed_id)
        return [call.answer(t("feeds.removed", title=escape(feed.title or feed.url)))]

    # --- polling ------------------------------------------------------------------------

    async def start(self) -> None:
        """Follow the feeds the config names."""
        await self.sync_configured()

    def jobs(self) -> Sequence[Job]:
        """Wake every few minutes and poll the feeds that are due (each has its own time)."""
        return (Job(POLL_JOB, parse_rule(POLL_EVERY), "UTC", self._poll_job),)

    def digest_sections(self) -> Sequence[SectionProvider]:
        """The week's blog posts."""
        return (self,)

    async def _poll_job(self, _context: RunContext) -> None:
        report = await self.poll_due()
        if report.failed:
            log.warning("feeds: %d of %d polled feeds failed", report.failed, report.polled)

    async def sync_configured(self) -> None:
        """Follow the community feeds named in the configuration."""

        async def sync(tx: Transaction) -> list[Action]:
            for community in self._communities:
                for url in community.feeds:
                    await store.add_feed(
                        tx.conn,
                        community=community.name,
                        url=url,
                        title=None,
                        site_url=None,
                        owner_ref=None,
                        backfill=False,
                        now=tx.now,
                    )
            return []

        await self._run(sync)

    async def poll_due(self, progress: Callable[[int, int], None] | None = None) -> PollReport:
        """Poll every due feed once (at most `concurrency` at a time) and store what is new."""
        report = PollReport()
        feeds_due: list[store.FeedRecord] = []

        async def due(tx: Transaction) -> list[Action]:
            feeds_due.extend(await store.due_feeds(tx.conn, tx.now))
            return []

        await self._run(due)
        limit = asyncio.Semaphore(self._settings.concurrency)
        done = 0

        async def one(feed: store.FeedRecord) -> None:
            nonlocal done
            async with limit:
                await self._poll(feed, report)
            done += 1
            if progress is not None:
                progress(done, len(feeds_due))

        await asyncio.gather(*(one(feed) for feed in feeds_due))
        return report

    async def _poll(self, feed: store.FeedRecord, report: PollReport) -> None:
        report.polled += 1
        interval = timedelta(minutes=self._settings.poll_minutes)
        try:
            read = await self._reader.read(feed.url, feed.etag, feed.last_modified)
        except FeedProblem as problem:
            report.failed += 1
            report.failures.append((feed.url, problem.reason))
            log.warning("feed %s (%d) failed: %s", feed.url, feed.id, problem.reason)
            failure = problem
            await self._run(lambda tx: self._failed(tx, feed, failure, report))
            return
        except Exception:
            report.failed += 1
            report.failures.append((feed.url, "unexpected error"))
            log.exception("feed %s (%d) failed unexpectedly", feed.url, feed.id)
            await self._run(
                lambda tx: self._failed(tx, feed, FeedProblem("unexpected error"), report)
            )
            return

        async def succeeded(tx: Transaction) -> list[Action]:
            values: dict[str, object] = {
                "failures": 0,
                "last_error": None,
                "next_poll_at": tx.now + interval,
            }
            if read.not_modified:
                report.not_modified += 1
            else:
                report.new_entries += await store.store_entries(tx.conn, feed, read.entries, tx.now)
                values.update(etag=read.etag, last_modified=read.last_modified)
                if read.title and not feed.title:
                    values["title"] = read.title
                if read.site_url and read.site_url != feed.site_url:
                    values["site_url"] = read.site_url
                values["problem"] = read.problem
                if read.problem is not None:
                    report.problems += 1
                    log.warning(
                        "feed %s (%d) read with problems: %s", feed.url, feed.id, read.problem
                    )
            await store.update_feed(tx.conn, feed.id, **values)
            return []

        await self._run(succeeded)

    async def _failed(
        self, tx: Transaction, feed: store.FeedRecord, problem: FeedProblem, report: PollReport
    ) -> list[Action]:
        failures = feed.failures + 1
        backoff = timedelta(minutes=self._settings.poll_minutes) * (2 ** min(failures, 10))
        backoff = min(backoff, timedelta(days=1))
        if problem.retry_after is not None:
            backoff = max(backoff, problem.retry_after)
        paused = failures >= self._settings.max_failures
        await store.update_feed(
            tx.conn,
            feed.id,
            failures=failures,
            last_error=problem.reason[:500],
            next_poll_at=tx.now + backoff,
            paused=paused,
        )
        if not paused:
            return []
        report.paused.append(feed.id)
        log.warning("feed %s paused after %d failures", feed.url, failures)
        if feed.owner_ref is None:
            return []
        language = next((c.language for c in self._communities if c.name == feed.community), "en")
        t = Catalog(language)
        owner = MemberRef.parse(feed.owner_ref)
        prefix = self._command_prefix(owner.platform)
        text = t(
            "feeds.paused_dm",
            title=escape(feed.title or feed.url),
            count=failures,
            reason=escape(problem.reason),
            prefix=prefix,
            id=feed.id,
        )
        return [SendDirect(member=owner, content=Content(text=text))]

    # --- digest -------------------------------------------------------------------------

    async def build(self, request: DigestRequest) -> Section | None:
        """The week's blog posts by members (named only where they allow it)."""
        posts = await store.week_posts(
            request.conn, request.community.name, request.start, request.end
        )
        caps = self._digest_caps
        per_source: Counter[str] = Counter()
        per_domain: Counter[str] = Counter()
        entries: list[Entry] = []
        for post in posts:
            # The caps shared links have: a flood from one blog or site never fills the week.
            source = post.owner_ref or f"feed:{post.feed_id}"
            domain = domain_of(post.link) if post.link else source
            if f"B{post.id}" in request.excluded:
                continue
            if f"B{post.id}" not in request.featured and (
                per_source[source] >= caps.per_sharer or per_domain[domain] >= caps.per_domain
            ):
                continue
            if len(entries) >= caps.top_links:
                break
            per_source[source] += 1
            per_domain[domain] += 1
            people: tuple[str, ...] = ()
            unnamed = 0
            if post.owner_ref is not None:
                if post.owner_named and post.owner_name:
                    people = (post.owner_name,)
                else:
                    unnamed = 1
            entries.append(
                Entry(
                    key=f"B{post.id}",
                    title=post.title,
                    url=post.link,
                    people=people,
                    unnamed=unnamed,
                    detail=post.feed_title or "",
                )
            )
        if not entries:
            return None
        return Section(self.kind, request.texts("digest.heading_blog_posts"), tuple(entries))


async def _answer(call: Invocation, text: str) -> list[Action]:
    return [call.answer(text)]
