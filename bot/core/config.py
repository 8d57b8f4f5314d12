"""`config.toml`, read with tomllib and validated once into frozen models.

Every error names the file, the key path and the fix. Secrets never live here: they come
from the environment (see `Secrets`), and a secret-looking value in the file is refused.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.schedules import RuleError, parse_rule


class ConfigError(Exception):
    """The configuration is wrong; the message says where and how to fix it."""


_SECRET_KEY = re.compile(r"(^|_)(token|secret|password|passwd|api_key|apikey|private_key)$")
_SECRET_VALUE = re.compile(
    r"^(xox[abpors]-|xapp-)"  # Slack tokens
    r"|^[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,}$"  # Discord bot token
)


class _Table:
    """Reads one TOML table, remembering the key path for error messages."""

    def __init__(self, source: str, path: str, data: Mapping[str, Any]) -> None:
        self.source, self.path, self.data = source, path, data
        self._seen: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.source}: {self.path}{'.' if self.path else ''}{key}"

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {problem}")

    def _get(self, key: str) -> Any:
        self._seen.add(key)
        value = self.data.get(key)
        if isinstance(value, str) and (_SECRET_KEY.search(key) or _SECRET_VALUE.search(value)):
            raise self.fail(
                key,
                "looks like a secret; secrets are never kept in the config file. Remove it and "
                "set the environment variable named in config.example.toml instead",
            )
        return value

    def text(self, key: str, default: str | None = None, *, choices: tuple[str, ...] = ()) -> str:
        value = self._get(key)
        if value is None:
            if default is None:
                raise self.fail(key, 'is missing; add it, e.g. key = "value"')
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.fail(key, f"must be text in quotes, not {value!r}")
        if choices and value not in choices:
            raise self.fail(key, f"{value!r} is not one of: {', '.join(choices)}")
        return value

    def schedule(self, key: str, default: str | None = None) -> str:
        """A schedule ("mon 09:00", "daily 08:00", cron), checked and in its normal form."""
        when = self.text(key, default)
        try:
            return parse_rule(when).text
        except RuleError as error:
            raise self.fail(key, str(error)) from None

    def optional_text(self, key: str) -> str | None:
        if self.data.get(key) is None:
            self._seen.add(key)
            return None
        return self.text(key)

    def integer(self, key: str, default: int, *, minimum: int = 0, maximum: int = 10**9) -> int:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(key, f"must be a whole number, not {value!r}")
        if not minimum <= value <= maximum:
            raise self.fail(key, f"must be between {minimum} and {maximum}, not {value}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {value!r}")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return ()
        if isinstance(value, str | int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not all(
            isinstance(item, str | int) and not isinstance(item, bool) for item in value
        ):
            raise self.fail(key, f'must be a list of text, e.g. ["a", "b"], not {value!r}')
        return tuple(str(item) for item in value)

    def table(self, key: str) -> _Table | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table ([{self.path + '.' if self.path else ''}{key}])")
        return _Table(self.source, f"{self.path}{'.' if self.path else ''}{key}", value)

    def tables(self, key: str) -> Iterator[_Table]:
        value = self._get(key)
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.fail(key, f"must be a list of tables ([[{key}]])")
        for index, item in enumerate(value):
            yield _Table(self.source, f"{self.path}{'.' if self.path else ''}{key}[{index}]", item)

    def finish(self) -> None:
        """Refuse keys nobody reads: they are typos that would silently do nothing."""
        for key in self.data:
            if key not in self._seen:
                known = ", ".join(sorted(self._seen)) or "none"
                raise self.fail(key, f"is not a known setting here (known: {known})")


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """Where data lives."""

    url: str = "sqlite+aiosqlite:///facilitator.db"


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """How long raw data is kept."""

    message_text_days: int = 90
    delivery_keys_days: int = 14


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The built-in web server."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = "http://127.0.0.1:8080"
    archive: str = "public"  # "public", "private" (ARCHIVE_TOKEN in the URL) or "off"


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Link capture."""

    react: bool = True
    reaction: str = "bookmark"


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """How the weekly digest picks its links."""

    top_links: int = 10
    per_domain: int = 2  # at most this many links from one site
    per_sharer: int = 3  # at most this many links led by one member


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """How member and community feeds are polled."""

    poll_minutes: int = 60
    max_failures: int = 5  # then the feed is paused and its owner told
    concurrency: int = 20


@dataclass(frozen=True, slots=True)
class GatheringSettings:
    """Live sessions: reminders and what counts as a fair time."""

    reminders: tuple[int, ...] = (24 * 60, 60)  # minutes before the start, DMs to those going
    waking_start: str = "08:00"  # local waking hours for /event suggest-times
    waking_end: str = "21:00"
    suggest_days: int = 7  # how far ahead /event suggest-times looks by default
    slot_minutes: int = 30  # candidate slots start on this grid (UTC)
    takeaways: bool = True  # open a takeaways thread when a session ends


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Outbound HTTP (link previews, feeds)."""

    allow_networks: tuple[str, ...] = ()  # e.g. ["10.0.0.0/8"] to reach a private blog on purpose
    allow_ports: tuple[int, ...] = ()  # ports besides 80 and 443
    timeout_seconds: int = 15
    max_bytes: int = 2_000_000
    previews: bool = True


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """The terminal adapter."""

    enabled: str = "auto"  # "auto": only when no platform tokens are set
    facilitators: tuple[str, ...] = ()
    member: str = "you"


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    """Platform-wide Discord settings (the token comes from DISCORD_TOKEN)."""

    api_base_url: str = "https://discord.com/api/v10"


@dataclass(frozen=True, slots=True)
class SlackSettings:
    """Platform-wide Slack settings (tokens from SLACK_BOT_TOKEN, SLACK_APP_TOKEN,
    SLACK_SIGNING_SECRET)."""

    mode: str = "socket"
    command: str = "/facilitator"
    api_base_url: str = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class PlatformChannels:
    """The channels a community spans on one platform."""

    channels: tuple[str, ...] = ()  # watched: messages and links are collected here
    announcements: str | None = None
    digest: str | None = None
    space: str | None = None  # Discord guild id / Slack team id
    facilitators: tuple[str, ...] = ()  # member ids (names never count: members choose them)
    facilitator_roles: tuple[str, ...] = ()  # Discord roles / Slack user groups (names or ids)

    def all_channels(self) -> tuple[str, ...]:
        """Watched channels plus the announcement and digest channels, without repeats."""
        seen = dict.fromkeys(self.channels)
        for extra in (self.announcements, self.digest):
            if extra:
                seen.setdefault(extra)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class PromptSettings:
    """A prompt schedule from the config: posted in the community's announcements channel
    (else its first watched channel) on every platform it spans."""

    stage: str  # seek | sense | share
    when: str  # the schedule, as `bot.core.schedules.parse_rule` reads it
    text: str | None = None  # None: rotate through the prompt library


@dataclass(frozen=True, slots=True)
class MemberSupportSettings:
    """How the bot supports members of one community (`[communities.members]`)."""

    welcome: bool = True  # welcome newcomers once (DM where allowed, else in the channel)
    introductions: bool = False  # invite newcomers to introduce themselves in a thread
    literacy_questions: bool = True  # may ask one short question about a link shared bare
    goal_checkin: str = "mon 10:00"  # when opted-in members get their weekly goal check-in


@dataclass(frozen=True, slots=True)
class NudgeSettings:
    """Gentle direct messages to members drifting away (`[communities.nudges]`)."""

    enabled: bool = True
    inactive_days: int = 14  # activity is judged over this many days
    joined_days: int = 7  # nobody is nudged in their first days
    every_days: int = 7  # at most one nudge per member in this many days
    quiet_start: str = "21:00"  # no nudges from here ...
    quiet_end: str = "08:00"  # ... to here, in the member's own time zone
    hourly_cap: int = 20  # direct messages per community and hour, at most
    give_up_after: int = 3  # unanswered nudges in a row, then no more until they are back
    answer_days: int = 7  # any own action this soon after a nudge answers it
    library: str | None = None  # a TOML file with the texts (default: the shipped library)


@dataclass(frozen=True, slots=True)
class IntroductionSettings:
    """Weekly, opt-in introductions between members who share topics but never met
    (`[communities.introductions]`)."""

    enabled: bool = True
    when: str = "wed 10:00"  # when the week's introductions go out
    lookback_days: int = 90  # topics come from what members shared in this many days


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    """How scheduled work catches up after downtime."""

    grace_hours: int = 6  # a run missed by less than this runs once; older ones are skipped


@dataclass(frozen=True, slots=True)
class CommunitySettings:
    """One learning community and the channels it spans."""

    name: str
    timezone: str = "UTC"
    language: str = "en"
    platforms: Mapping[str, PlatformChannels] = field(default_factory=dict)
    feeds: tuple[str, ...] = ()  # community feeds facilitators follow for the digest
    prompts: tuple[PromptSettings, ...] = ()
    digest_when: str | None = None  # when the weekly digest is posted, e.g. "mon 09:00"
    members: MemberSupportSettings = MemberSupportSettings()
    nudges: NudgeSettings = NudgeSettings()
    introductions: IntroductionSettings = IntroductionSettings()

    @property
    def zone(self) -> ZoneInfo:
        """The community's time zone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration."""

    source: str
    communities: tuple[CommunitySettings, ...]
    storage: StorageSettings = StorageSettings()
    retention: RetentionSettings = RetentionSettings()
    web: WebSettings = WebSettings()
    links: LinkSettings = LinkSettings()
    digest: DigestSettings = DigestSettings()
    feeds: FeedSettings = FeedSettings()
    fetch: FetchSettings = FetchSettings()
    gatherings: GatheringSettings = GatheringSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    console: ConsoleSettings = ConsoleSettings()
    discord: DiscordSettings = DiscordSettings()
    slack: SlackSettings = SlackSettings()
    log_level: str = "INFO"

    def community(self, name: str) -> CommunitySettings:
        """The community called `name`."""
        for community in self.communities:
            if community.name == name:
                return community
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class Secrets:
    """Tokens from the environment; never logged, never stored."""

    discord_token: str | None = field(default=None, repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    archive_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        """Read the tokens (empty values count as unset)."""
        env = os.environ if environ is None else environ
        return cls(
            discord_token=env.get("DISCORD_TOKEN") or None,
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            archive_token=env.get("ARCHIVE_TOKEN") or None,
        )

    @property
    def any_platform(self) -> bool:
        """True when a Discord or Slack token is present."""
        return bool(self.discord_token or self.slack_bot_token)


_PLATFORMS = ("console", "discord", "slack")


def _platform_channels(table: _Table) -> PlatformChannels:
    channels = PlatformChannels(
        channels=table.texts("channels"),
        announcements=table.optional_text("announcements"),
        digest=table.optional_text("digest"),
        space=table.optional_text("guild") or table.optional_text("team"),
        facilitators=table.texts("facilitators"),
        facilitator_roles=table.texts("facilitator_roles"),
    )
    table.finish()
    return channels


def _community(table: _Table, index: int) -> CommunitySettings:
    name = table.text("name")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name):
        raise table.fail("name", f"{name!r} must be lower-case letters, digits, - or _ (a slug)")
    zone = table.text("timezone", "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise table.fail(
            "timezone", f'{zone!r} is not a time zone; use an IANA name such as "Europe/Berlin"'
        ) from None
    language = table.text("language", "en")
    feeds = table.texts("feeds")
    for url in feeds:
        if not url.startswith(("http://", "https://")):
            raise table.fail("feeds", f"{url!r} is not an http(s) address")
    platforms: dict[str, PlatformChannels] = {}
    for platform in _PLATFORMS:
        section = table.table(platform)
        if section is not None:
            platforms[platform] = _platform_channels(section)
    prompts = tuple(_prompt(section) for section in table.tables("prompts"))
    digest_when = None
    if (digest := table.table("digest")) is not None:
        digest_when = digest.schedule("when")
        digest.finish()
    support = MemberSupportSettings()
    if (section := table.table("members")) is not None:
        checkin = section.schedule("goal_checkin", support.goal_checkin)
        support = MemberSupportSettings(
            welcome=section.boolean("welcome", support.welcome),
            introductions=section.boolean("introductions", support.introductions),
            literacy_questions=section.boolean("literacy_questions", support.literacy_questions),
            goal_checkin=checkin,
        )
        section.finish()
    nudges = _nudges(table.table("nudges"))
    introductions = _introductions(table.table("introductions"))
    table.finish()
    return CommunitySettings(
        name=name,
        timezone=zone,
        language=language,
        platforms=platforms,
        feeds=feeds,
        prompts=prompts,
        digest_when=digest_when,
        members=support,
        nudges=nudges,
        introductions=introductions,
    )


def _nudges(section: _Table | None) -> NudgeSettings:
    if section is None:
        return NudgeSettings()
    default = NudgeSettings()
    quiet = section.text("quiet_hours", f"{default.quiet_start}-{default.quiet_end}")
    bounds = [part.strip() for part in quiet.split("-")]
    if len(bounds) != 2 or not all(_WALL.match(bound) for bound in bounds):
        raise section.fail(
            "quiet_hours", f'{quiet!r} is not a range of times; write e.g. "21:00-08:00"'
        )
    library = section.optional_text("library")
    if library is not None and not Path(library).is_file():
        raise section.fail(
            "library", f"{library!r} is not a file; give the path of a TOML nudge library"
        )
    settings = NudgeSettings(
        enabled=section.boolean("enabled", default.enabled),
        inactive_days=section.integer(
            "inactive_days", default.inactive_days, minimum=1, maximum=90
        ),
        joined_days=section.integer("joined_days", default.joined_days, minimum=0, maximum=365),
        every_days=section.integer("every_days", default.every_days, minimum=1, maximum=90),
        quiet_start=bounds[0],
        quiet_end=bounds[1],
        hourly_cap=section.integer("hourly_cap", default.hourly_cap, minimum=1, maximum=1000),
        give_up_after=section.integer(
            "give_up_after", default.give_up_after, minimum=1, maximum=10
        ),
        answer_days=section.integer("answer_days", default.answer_days, minimum=1, maximum=30),
        library=library,
    )
    section.finish()
    return settings


def _introductions(section: _Table | None) -> IntroductionSettings:
    if section is None:
        return IntroductionSettings()
    default = IntroductionSettings()
    when = section.schedule("when", default.when)
    settings = IntroductionSettings(
        enabled=section.boolean("enabled", default.enabled),
        when=when,
        lookback_days=section.integer(
            "lookback_days", default.lookback_days, minimum=7, maximum=730
        ),
    )
    section.finish()
    return settings


_OFFSET = re.compile(r"^(?:(\d{1,3})d)?(?:(\d{1,3})h)?(?:(\d{1,4})m)?$")
_WALL = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _gatherings(section: _Table | None) -> GatheringSettings:
    if section is None:
        return GatheringSettings()
    reminders: list[int] = []
    for text in section.texts("reminders") if "reminders" in section.data else ("24h", "1h"):
        match = _OFFSET.match(text.strip().lower())
        if not text.strip() or match is None or not any(match.groups()):
            raise section.fail(
                "reminders", f'{text!r} is not an offset; write e.g. ["24h", "1h", "15m", "2d"]'
            )
        days, hours, minutes = (int(part or 0) for part in match.groups())
        total = days * 1440 + hours * 60 + minutes
        if not 1 <= total <= 30 * 1440:
            raise section.fail("reminders", f"{text!r} must be between 1 minute and 30 days")
        reminders.append(total)
    if "reminders" not in section.data:
        section._seen.add("reminders")
    bounds = []
    for key, default in (("waking_start", "08:00"), ("waking_end", "21:00")):
        value = section.text(key, default)
        if not _WALL.match(value):
            raise section.fail(
                key, f'{value!r} is not a time; write a 24-hour "HH:MM" like "08:00"'
            )
        bounds.append(value)
    if bounds[0] == bounds[1]:
        raise section.fail("waking_end", "must differ from waking_start")
    slot = section.integer("slot_minutes", 30, minimum=5, maximum=240)
    if 1440 % slot:
        raise section.fail("slot_minutes", f"{slot} must divide a day (15, 30, 60...)")
    settings = GatheringSettings(
        reminders=tuple(sorted(set(reminders), reverse=True)),
        waking_start=bounds[0],
        waking_end=bounds[1],
        suggest_days=section.integer("suggest_days", 7, minimum=1, maximum=28),
        slot_minutes=slot,
        takeaways=section.boolean("takeaways", True),
    )
    section.finish()
    return settings


def _prompt(table: _Table) -> PromptSettings:
    stage = table.text("stage", choices=("seek", "sense", "share"))
    when = table.schedule("when")
    text = table.optional_text("text")
    table.finish()
    return PromptSettings(stage=stage, when=when, text=text.strip() or None if text else None)


def parse_config(data: Mapping[str, Any], source: str = "config.toml") -> Config:
    """Validate parsed TOML into a `Config`; raise `ConfigError`."""
    root = _Table(source, "", data)
    storage = StorageSettings()
    if (section := root.table("storage")) is not None:
        storage = StorageSettings(url=section.text("url", StorageSettings().url))
        if urlsplit(storage.url).password:
            raise section.fail(
                "url",
                "holds a password; secrets are never kept in the config file. Remove it and "
                "put it in PGPASSWORD or ~/.pgpass (the driver reads both)",
            )
        section.finish()
    retention = RetentionSettings()
    if (section := root.table("retention")) is not None:
        retention = RetentionSettings(
            message_text_days=section.integer("message_text_days", 90, minimum=1),
            delivery_keys_days=section.integer("delivery_keys_days", 14, minimum=1),
        )
        section.finish()
    web = WebSettings()
    if (section := root.table("web")) is not None:
        port = section.integer("port", 8080, minimum=0, maximum=65535)
        host = section.text("host", "127.0.0.1")
        web = WebSettings(
            enabled=section.boolean("enabled", True),
            host=host,
            port=port,
            base_url=section.text("base_url", f"http://{host}:{port}").rstrip("/"),
            archive=section.text("archive", "public", choices=("public", "private", "off")),
        )
        section.finish()
    links = LinkSettings()
    if (section := root.table("links")) is not None:
        links = LinkSettings(
            react=section.boolean("react", True), reaction=section.text("reaction", "bookmark")
        )
        section.finish()
    digest = DigestSettings()
    if (section := root.table("digest")) is not None:
        digest = DigestSettings(
            top_links=section.integer("top_links", 10, minimum=1, maximum=50),
            per_domain=section.integer("per_domain", 2, minimum=1, maximum=50),
            per_sharer=section.integer("per_sharer", 3, minimum=1, maximum=50),
        )
        section.finish()
    feeds = FeedSettings()
    if (section := root.table("feeds")) is not None:
        feeds = FeedSettings(
            poll_minutes=section.integer("poll_minutes", 60, minimum=5, maximum=10_080),
            max_failures=section.integer("max_failures", 5, minimum=1, maximum=100),
            concurrency=section.integer("concurrency", 20, minimum=1, maximum=200),
        )
        section.finish()
    fetch = FetchSettings()
    if (section := root.table("fetch")) is not None:
        networks = section.texts("allow_networks")
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise section.fail(
                    "allow_networks", f'{network!r} is not a network; write e.g. "10.0.0.0/8"'
                ) from None
        ports = []
        for allowed in section.texts("allow_ports"):
            if not allowed.isdigit() or not 0 < int(allowed) < 65536:
                raise section.fail("allow_ports", f"{allowed!r} is not a port number")
            ports.append(int(allowed))
        fetch = FetchSettings(
            allow_networks=networks,
            allow_ports=tuple(ports),
            timeout_seconds=section.integer("timeout_seconds", 15, minimum=1, maximum=300),
            max_bytes=section.integer("max_bytes", 2_000_000, minimum=10_000, maximum=50_000_000),
            previews=section.boolean("previews", True),
        )
        section.finish()
    gatherings = _gatherings(root.table("gatherings"))
    scheduler = SchedulerSettings()
    if (section := root.table("scheduler")) is not None:
        scheduler = SchedulerSettings(
            grace_hours=section.integer("grace_hours", 6, minimum=0, maximum=24 * 7)
        )
        section.finish()
    console = ConsoleSettings()
    if (section := root.table("console")) is not None:
        enabled = section._get("enabled")
        section._seen.add("enabled")
        if enabled is None:
            enabled_text = "auto"
        elif isinstance(enabled, bool):
            enabled_text = "on" if enabled else "off"
        elif enabled == "auto":
            enabled_text = "auto"
        else:
            raise section.fail("enabled", 'must be true, false or "auto"')
        console = ConsoleSettings(
            enabled=enabled_text,
            facilitators=section.texts("facilitators"),
            member=section.text("member", "you"),
        )
        section.finish()
    discord = DiscordSettings()
    if (section := root.table("discord")) is not None:
        discord = DiscordSettings(
            api_base_url=section.text("api_base_url", DiscordSettings().api_base_url).rstrip("/")
        )
        section.finish()
    slack = SlackSettings()
    if (section := root.table("slack")) is not None:
        command = section.text("command", "/facilitator")
        if not re.fullmatch(r"/[a-z0-9_-]{1,31}", command):
            raise section.fail("command", f'{command!r} must look like "/facilitator"')
        api = section.text("api_base_url", SlackSettings().api_base_url)
        slack = SlackSettings(
            mode=section.text("mode", "socket", choices=("socket", "http")),
            command=command,
            api_base_url=api if api.endswith("/") else api + "/",
        )
        section.finish()
    log_level = "INFO"
    if (section := root.table("bot")) is not None:
        log_level = section.text("log_level", "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
        section.finish()
    communities = tuple(_community(t, i) for i, t in enumerate(root.tables("communities")))
    if not communities:
        raise root.fail("communities", "is missing; add at least one [[communities]] with a name")
    names = [c.name for c in communities]
    for name in names:
        if names.count(name) > 1:
            raise root.fail("communities", f"the name {name!r} is used twice; names must differ")
    root.finish()
    return Config(
        source=source,
        communities=communities,
        storage=storage,
        retention=retention,
        web=web,
        links=links,
        digest=digest,
        feeds=feeds,
        fetch=fetch,
        gatherings=gatherings,
        scheduler=scheduler,
        console=console,
        discord=discord,
        slack=slack,
        log_level=log_level,
    )


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise `ConfigError` with a fix for every problem."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such file; copy config.example.toml to {file.name} and edit it"
        ) from None
    except OSError as error:
        raise ConfigError(f"{file}: cannot be read ({error.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file}: is not valid TOML ({error}); fix the syntax there") from None
    return parse_config(data, source=str(file))
