"""The public (or token-protected) digest archive: an index, one page per issue, JSON and an
Atom feed. Pages are built from the database on every request, so a member's `/forget-me` or
consent change shows at once."""

from __future__ import annotations

import secrets as tokens
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from bot.core.clock import Clock
from bot.core.communities import CommunityDirectory
from bot.core.i18n import Catalog
from bot.core.weeks import IsoWeek
from bot.features.digest import store
from bot.features.digest.render import atom_feed, index_html, to_dict, to_html
from bot.features.digest.service import DigestService
from bot.runtime.service import Service
from bot.storage.database import Database

TAG_AUTHORITY = "facilitator,2026"  # Atom ids' tag: authority, fixed whatever the base_url


class Archive(Service):
    """Serves posted digests; `prefix` is "" (public) or "/a/<token>" (private)."""

    def __init__(
        self,
        *,
        database: Database,
        digests: DigestService,
        directory: CommunityDirectory,
        texts: Callable[[str], Catalog],
        clock: Clock,
        base_url: str,
        token: str | None = None,
    ) -> None:
        self._database = database
        self._digests = digests
        self._directory = directory
        self._texts = texts
        self._clock = clock
        self._base_url = base_url.rstrip("/")
        self._token = token
        self.prefix = f"/a/{token}" if token else ""

    @property
    def digests_url(self) -> str:
        """The archive's address (what digests link to)."""
        return f"{self._base_url}{self.prefix}/digests"

    name = "archive"

    def web_routes(self) -> list[web.RouteDef]:
        """The archive's pages and feeds."""
        return self.routes()

    def routes(self) -> list[web.RouteDef]:
        """The archive's routes, under the public or private prefix."""
        base = f"{self.prefix}/digests"
        return [
            web.get(f"{base}", self._index),
            web.get(f"{base}/", self._index),
            web.get(f"{base}.atom", self._atom),
            web.get(base + r"/{community}.atom", self._atom),
            web.get(base + r"/{community}/", self._community_index),
            web.get(base + r"/{community}/{week:\d{4}-W\d{2}}.json", self._json),
            web.get(base + r"/{community}/{week:\d{4}-W\d{2}}", self._issue),
        ]

    def check_token(self, request: web.Request) -> None:
        """Constant-time check (the token is in the route, this guards against lookalikes)."""
        if self._token and not tokens.compare_digest(
            request.path.split("/")[2] if request.path.startswith("/a/") else "", self._token
        ):
            raise web.HTTPNotFound()

    async def _load(self, request: web.Request) -> tuple[str, IsoWeek]:
        self.check_token(request)
        community = request.match_info["community"]
        try:
            week = IsoWeek.parse(request.match_info["week"])
            self._directory.settings(community)
        except (ValueError, KeyError):
            raise web.HTTPNotFound() from None
        async with self._database.reading() as conn:
            if await store.issue(conn, community, str(week)) is None:
                raise web.HTTPNotFound()
        return community, week

    def _community(self, request: web.Request) -> str | None:
        """The community a route names (None for the whole archive); 404 if unknown."""
        community = request.match_info.get("community")
        if community is None:
            return None
        try:
            self._directory.settings(community)
        except KeyError:
            raise web.HTTPNotFound() from None
        return community

    async def _index(self, request: web.Request) -> web.Response:
        self.check_token(request)
        return await self._listing(None)

    async def _community_index(self, request: web.Request) -> web.Response:
        self.check_token(request)
        return await self._listing(self._community(request))

    async def _listing(self, community: str | None) -> web.Response:
        async with self._database.reading() as conn:
            posted = await store.issues(conn, community)
        items = [
            {
                "url": f"{self.prefix}/digests/{issue.community}/{issue.week}",
                "title": f"{issue.community} · {issue.week}",
                "posted": issue.posted_at.strftime("%Y-%m-%d"),
            }
            for issue in posted
        ]
        if community is None:
            html = index_html("Digests", items, f"{self.prefix}/digests.atom")
        else:
            feed = f"{self.prefix}/digests/{community}.atom"
            html = index_html(f"Digests · {community}", items, feed)
        return web.Response(text=html, content_type="text/html")

    async def _neighbours(self, community: str, week: IsoWeek) -> tuple[str | None, str | None]:
        """The addresses of the posted weeks just before and after `week`."""
        async with self._database.reading() as conn:
            weeks = sorted(
                IsoWeek.parse(issue.week) for issue in await store.issues(conn, community)
            )
        before = [w for w in weeks if w < week]
        after = [w for w in weeks if w > week]
        base = f"{self.prefix}/digests/{community}"
        return (
            f"{base}/{before[-1]}" if before else None,
            f"{base}/{after[0]}" if after else None,
        )

    async def _issue(self, request: web.Request) -> web.Response:
        community, week = await self._load(request)
        settings = self._directory.settings(community)
        texts = self._texts(settings.language)
        async with self._database.reading() as conn:
            digest = await self._digests.build(conn, settings, week, texts, self._clock.now())
        previous, following = await self._neighbours(community, week)
        home = f"{self.prefix}/digests/{community}/"
        html = to_html(digest, texts, home=home, previous=previous, following=following)
        return web.Response(text=html, content_type="text/html")

    async def _json(self, request: web.Request) -> web.Response:
        community, week = await self._load(request)
        settings = self._directory.settings(community)
        async with self._database.reading() as conn:
            digest = await self._digests.build(
                conn, settings, week, self._texts(settings.language), self._clock.now()
            )
        return web.json_response(to_dict(digest))

    async def _atom(self, request: web.Request) -> web.Response:
        self.check_token(request)
        community = self._community(request)
        async with self._database.reading() as conn:
            posted = (await store.issues(conn, community))[:20]
            entries = []
            for issue in posted:
                settings = self._directory.settings(issue.community)
                texts = self._texts(settings.language)
                week = IsoWeek.parse(issue.week)
                digest = await self._digests.build(conn, settings, week, texts, self._clock.now())
                url = f"{self.digests_url}/{issue.community}/{issue.week}"
                entries.append(
                    {
                        # From community and week alone: a new base_url re-delivers nothing.
                        "id": f"tag:{TAG_AUTHORITY}:digest/{issue.community}/{issue.week}",
                        "title": texts("digest.title", community=issue.community, week=issue.week),
                        "url": url,
                        "updated": issue.posted_at,
                        "html": to_html(
                            digest, texts, home=f"{self.digests_url}/{issue.community}/"
                        ),
                    }
                )
        updated = posted[0].posted_at if posted else datetime(2026, 1, 1, tzinfo=UTC)
        where = f"/{community}" if community else ""
        feed = atom_feed(
            title=f"Digests · {community}" if community else "Digests",
            feed_url=f"{self.digests_url}{where}.atom",
            site_url=f"{self.digests_url}{where}/" if community else self.digests_url,
            entries=entries,
            updated=updated,
        )
        return web.Response(text=feed, content_type="application/atom+xml", charset="utf-8")
