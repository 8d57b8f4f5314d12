"""Calendars on the web server: `/events.ics` (every upcoming session, no meeting links),
`/events/<uid>.ics` (one session) and `/calendar/<token>.ics` (a member's own calendar, with
the links of sessions they are going to). Built from the database on every request."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.core.clock import Clock
from bot.features.gatherings import store
from bot.features.gatherings.ics import CalendarEntry, calendar
from bot.features.gatherings.recurrence import next_occurrence
from bot.features.gatherings.store import GOING, GatheringRecord
from bot.runtime.service import Service
from bot.storage.database import Database

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Cancelled and past sessions stay in the feed a while, so subscribed calendars see the change.
KEEP_PAST = timedelta(days=7)


def _upcoming(gathering: GatheringRecord, now: datetime) -> bool:
    since = now - KEEP_PAST
    zone = ZoneInfo(gathering.timezone)
    return next_occurrence(gathering.starts_at, zone, gathering.recurrence, since) is not None


class Calendars(Service):
    """Serves the ICS files."""

    def __init__(
        self, *, database: Database, clock: Clock, name: str = "Facilitator", prefix: str = ""
    ) -> None:
        self._database = database
        self._clock = clock
        self._name = name
        self._prefix = prefix  # "/a/<token>" when the archive is private

    name = "calendars"

    def web_routes(self) -> list[web.RouteDef]:
        """The calendar feeds."""
        return self.routes()

    def routes(self) -> list[web.RouteDef]:
        """The calendar routes."""
        return [
            web.get(f"{self._prefix}/events.ics", self._all),
            web.get(self._prefix + r"/events/{uid:[A-Za-z0-9@._-]+}.ics", self._one),
            web.get(r"/calendar/{token}.ics", self._personal),
        ]

    @staticmethod
    def _response(data: bytes) -> web.Response:
        return web.Response(
            body=data,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def _all(self, _request: web.Request) -> web.Response:
        now = self._clock.now()
        async with self._database.reading() as conn:
            found = await store.list_gatherings(conn, include_cancelled=True)
        entries = [CalendarEntry(g) for g in found if _upcoming(g, now)]
        return self._response(calendar(entries, now, self._name))

    async def _one(self, request: web.Request) -> web.Response:
        async with self._database.reading() as conn:
            gathering = await store.get_gathering_by_uid(conn, request.match_info["uid"])
        if gathering is None:
            raise web.HTTPNotFound()
        now = self._clock.now()
        return self._response(calendar([CalendarEntry(gathering)], now, gathering.title))

    async def _personal(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not _TOKEN.match(token):
            raise web.HTTPNotFound()
        now = self._clock.now()
        async with self._database.reading() as conn:
            member = await store.member_for_token(conn, token)
            if member is None:
                raise web.HTTPNotFound()
            answers = await store.member_rsvps(conn, member)
            going = {a.gathering_id for a in answers if a.status == GOING and not a.waitlisted}
            found = await store.list_gatherings(conn, include_cancelled=True)
        entries = [
            CalendarEntry(g, g.where_url if g.id in going else None)
            for g in found
            if _upcoming(g, now)
        ]
        return self._response(calendar(entries, now, self._name))
