"""`config.toml`, read with tomllib and validated once into frozen models.

Every error names the file, the key path and the fix. Secrets never live here: they come
from the environment (see `Secrets`), and a secret-looking value in the file is refused.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Generic, TypeVar, get_type_hints
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


class ConfigTable:
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

    def table(self, key: str) -> ConfigTable | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table ([{self.path + '.' if self.path else ''}{key}])")
        return ConfigTable(self.source, f"{self.path}{'.' if self.path else ''}{key}", value)

    def tables(self, key: str) -> Iterator[ConfigTable]:
        value = self._get(key)
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.fail(key, f"must be a list of tables ([[{key}]])")
        for index, item in enumerate(value):
            where = f"{self.path}{'.' if self.path else ''}{key}[{index}]"
            yield ConfigTable(self.source, where, item)

    def finish(self) -> None:
        """Refuse keys nobody reads: they are typos that would silently do nothing."""
        for key in self.data:
            if key not in self._seen:
                known = ", ".join(sorted(self._seen)) or "none"
                raise self.fail(key, f"is not a known setting here (known: {known})")


T = TypeVar("T")
# A custom reader for one field: (table, key, default, values read so far) -> value.
FieldReader = Callable[["ConfigTable", str, Any, Mapping[str, Any]], Any]


def setting(
    default: Any = MISSING,
    *,
    minimum: int = 0,
    maximum: int = 10**9,
    choices: tuple[str, ...] = (),
    schedule: bool = False,
    key: str | None = None,
    read: FieldReader | None = None,
) -> Any:
    """A settings field: its one default (none: the key is required) and how `read_settings`
    checks it."""
    rules = {
        "minimum": minimum,
        "maximum": maximum,
        "choices": choices,
        "schedule": schedule,
        "key": key,
        "read": read,
    }
    if isinstance(default, list | dict | set):
        raise TypeError("defaults must be immutable (use a tuple)")
    if default is MISSING:  # a required key
        return field(metadata=rules)
    return field(default=default, metadata=rules)


def read_settings(table: ConfigTable | None, kind: type[T]) -> T:
    """Read one TOML table into the frozen dataclass `kind`: each field's type says how to
    read it, its `setting()` how to check it, and its default is the only one written."""
    if table is None:
        return kind()
    hints = get_type_hints(kind)
    values: dict[str, Any] = {}
    for spec in fields(kind):  # type: ignore[arg-type]
        rules = spec.metadata
        key = rules.get("key") or spec.name
        required = spec.default is MISSING  # no default: the key must be given
        default: Any = None if required else spec.default
        if rules.get("read") is not None:
            values[spec.name] = rules["read"](table, key, default, values)
            continue
        hint = hints[spec.name]
        if hint is bool:
            value: Any = table.boolean(key, default)
        elif hint is int:
            value = table.integer(
                key, default, minimum=rules.get("minimum", 0), maximum=rules.get("maximum", 10**9)
            )
        elif hint is str and rules.get("schedule", False):
            value = table.schedule(key, default)
        elif hint is str:
            value = table.text(key, default, choices=rules.get("choices", ()))
        elif hint == str | None:
            value = table.optional_text(key)
            if value is not None and rules.get("schedule"):
                value = table.schedule(key)
        elif hint == tuple[str, ...]:
            value = table.texts(key) if key in table.data else default
        else:  # pragma: no cover - a declaration error, caught by the config tests
            raise TypeError(f"{kind.__name__}.{spec.name}: no reader for {hint}")
        values[spec.name] = value
    table.finish()
    return kind(**values)


@dataclass(frozen=True, slots=True)
class ConfigSection(Generic[T]):
    """A table of config.toml that a feature owns, read into `kind`: top-level (`[key]`), or
    in each community (`[communities.key]`); `many`: a list (`[[key]]`, `[[communities.key]]`)."""

    key: str
    kind: type[T]
    community: bool = False
    many: bool = False


WALL = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")  # a 24-hour "HH:MM"


def wall_time(table: ConfigTable, key: str, default: str, _values: Mapping[str, Any]) -> str:
    """A 24-hour "HH:MM" time of day (a field reader)."""
    value = table.text(key, default)
    if not WALL.match(value):
        raise table.fail(key, f'{value!r} is not a time; write a 24-hour "HH:MM" like "08:00"')
    return value


def _storage_url(table: ConfigTable, key: str, default: str, _: Mapping[str, Any]) -> str:
    url = table.text(key, default)
    if urlsplit(url).password:
        raise table.fail(
            key,
            "holds a password; secrets are never kept in the config file. Remove it and "
            "put it in PGPASSWORD or ~/.pgpass (the driver reads both)",
        )
    return url


def _base_url(table: ConfigTable, key: str, _default: str, values: Mapping[str, Any]) -> str:
    return table.text(key, f"http://{values['host']}:{values['port']}").rstrip("/")


def _networks(table: ConfigTable, key: str, default: Any, _: Mapping[str, Any]) -> Any:
    networks = table.texts(key)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            problem = f'{network!r} is not a network; write e.g. "10.0.0.0/8"'
            raise table.fail(key, problem) from None
    return networks


def _ports(table: ConfigTable, key: str, default: Any, _: Mapping[str, Any]) -> Any:
    ports = []
    for allowed in table.texts(key):
        if not allowed.isdigit() or not 0 < int(allowed) < 65536:
            raise table.fail(key, f"{allowed!r} is not a port number")
        ports.append(int(allowed))
    return tuple(ports)


def _console_enabled(table: ConfigTable, key: str, default: str, _: Mapping[str, Any]) -> str:
    enabled = table._get(key)
    if enabled is None:
        return default
    if isinstance(enabled, bool):
        return "on" if enabled else "off"
    if enabled == "auto":
        return "auto"
    raise table.fail(key, 'must be true, false or "auto"')


def _without_slash(table: ConfigTable, key: str, default: str, _: Mapping[str, Any]) -> str:
    return table.text(key, default).rstrip("/")


def _with_slash(table: ConfigTable, key: str, default: str, _: Mapping[str, Any]) -> str:
    api = table.text(key, default)
    return api if api.endswith("/") else api + "/"


def _slash_command(table: ConfigTable, key: str, default: str, _: Mapping[str, Any]) -> str:
    command = table.text(key, default)
    if not re.fullmatch(r"/[a-z0-9_-]{1,31}", command):
        raise table.fail(key, f'{command!r} must look like "/facilitator"')
    return command


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """Where data lives."""

    url: str = setting("sqlite+aiosqlite:///facilitator.db", read=_storage_url)


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """How long raw data is kept."""

    message_text_days: int = setting(90, minimum=1)
    delivery_keys_days: int = setting(14, minimum=1)


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The built-in web server."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = setting(8080, maximum=65535)
    base_url: str = setting("http://127.0.0.1:8080", read=_base_url)
    # "public", "private" (ARCHIVE_TOKEN in the URL) or "off"
    archive: str = setting("public", choices=("public", "private", "off"))


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Outbound HTTP (link previews, feeds)."""

    # e.g. ["10.0.0.0/8"] to reach a private blog on purpose
    allow_networks: tuple[str, ...] = setting((), read=_networks)
    allow_ports: tuple[int, ...] = setting((), read=_ports)  # ports besides 80 and 443
    timeout_seconds: int = setting(15, minimum=1, maximum=300)
    max_bytes: int = setting(2_000_000, minimum=10_000, maximum=50_000_000)
    previews: bool = True


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """The terminal adapter."""

    # "on", "off", or "auto": only when no platform tokens are set
    enabled: str = setting("auto", read=_console_enabled)
    facilitators: tuple[str, ...] = ()
    member: str = "you"


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    """Platform-wide Discord settings (the token comes from DISCORD_TOKEN)."""

    api_base_url: str = setting("https://discord.com/api/v10", read=_without_slash)


@dataclass(frozen=True, slots=True)
class SlackSettings:
    """Platform-wide Slack settings (tokens from SLACK_BOT_TOKEN, SLACK_APP_TOKEN,
    SLACK_SIGNING_SECRET)."""

    mode: str = setting("socket", choices=("socket", "http"))
    command: str = setting("/facilitator", read=_slash_command)
    api_base_url: str = setting("https://slack.com/api/", read=_with_slash)


@dataclass(frozen=True, slots=True)
class PlatformChannels:
    """The channels a community spans on one platform."""

    channels: tuple[str, ...] = ()  # watched: messages and links are collected here
    announcements: str | None = None
    digest: str | None = None
    space: str | None = None  # Discord guild id / Slack team id
    facilitators: tuple[str, ...] = ()  # member ids (names never count: members choose them)
    facilitator_roles: tuple[str, ...] = ()  # Discord roles / Slack user groups (names or ids)
    # Slack only: welcome members who join the workspace (`team_join`). Off by default: a
    # company-wide workspace is not the community; joining a watched channel still welcomes.
    welcome_workspace_joins: bool = False

    def all_channels(self) -> tuple[str, ...]:
        """Watched channels plus the announcement and digest channels, without repeats."""
        seen = dict.fromkeys(self.channels)
        for extra in (self.announcements, self.digest):
            if extra:
                seen.setdefault(extra)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    """How scheduled work catches up after downtime."""

    # a run missed by less than this runs once; older ones are skipped
    grace_hours: int = setting(6, maximum=24 * 7)
    # a process holds a scheduled run or an undelivered effect this long between renewals;
    # when it dies, another process (or the next start) takes its work over after this
    lease_seconds: int = setting(30, minimum=2, maximum=600)


@dataclass(frozen=True, slots=True)
class CommunitySettings:
    """One learning community and the channels it spans."""

    name: str
    timezone: str = "UTC"
    language: str = "en"
    platforms: Mapping[str, PlatformChannels] = field(default_factory=dict)
    feeds: tuple[str, ...] = ()  # community feeds facilitators follow for the digest
    # Each feature's own table in this community, by its settings class (see `ConfigSection`).
    sections: Mapping[type[Any], Any] = field(default_factory=dict)

    def section(self, kind: type[T]) -> T:
        """A feature's settings for this community (its defaults when there is no table)."""
        found = self.sections.get(kind)
        return found if isinstance(found, kind) else kind()

    def section_list(self, kind: type[T]) -> tuple[T, ...]:
        """A feature's list of tables in this community (`[[communities.key]]`)."""
        found = self.sections.get(kind, ())
        return tuple(item for item in found if isinstance(item, kind))

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
    fetch: FetchSettings = FetchSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    console: ConsoleSettings = ConsoleSettings()
    discord: DiscordSettings = DiscordSettings()
    slack: SlackSettings = SlackSettings()
    log_level: str = "INFO"
    # Each feature's own top-level table, by its settings class (see `ConfigSection`).
    sections: Mapping[type[Any], Any] = field(default_factory=dict)

    def section(self, kind: type[T]) -> T:
        """A feature's settings (its defaults when config.toml has no such table)."""
        found = self.sections.get(kind)
        return found if isinstance(found, kind) else kind()

    def section_list(self, kind: type[T]) -> tuple[T, ...]:
        """A feature's list of top-level tables (`[[key]]`)."""
        found = self.sections.get(kind, ())
        return tuple(item for item in found if isinstance(item, kind))

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


def check_slack_secrets(config: Config, secrets: Secrets) -> None:
    """Refuse a Slack set-up whose mode lacks its secret (`check` and `run` say the same)."""
    if not secrets.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set; copy the Bot User OAuth Token into it")
    if config.slack.mode == "socket" and not secrets.slack_app_token:
        raise ConfigError(
            f'{config.source}: slack.mode is "socket" but SLACK_APP_TOKEN is not set; '
            "create an app-level token with connections:write and set it"
        )
    if config.slack.mode == "http" and not secrets.slack_signing_secret:
        raise ConfigError(
            f'{config.source}: slack.mode is "http" but SLACK_SIGNING_SECRET is not set; '
            "copy the Signing Secret from the app's Basic Information page"
        )


_PLATFORMS = ("console", "discord", "slack")


def _platform_channels(table: ConfigTable, platform: str) -> PlatformChannels:
    channels = PlatformChannels(
        channels=table.texts("channels"),
        announcements=table.optional_text("announcements"),
        digest=table.optional_text("digest"),
        space=table.optional_text("guild") or table.optional_text("team"),
        facilitators=table.texts("facilitators"),
        facilitator_roles=table.texts("facilitator_roles"),
        welcome_workspace_joins=(
            table.boolean("welcome_workspace_joins", False) if platform == "slack" else False
        ),
    )
    table.finish()
    return channels


def _community(table: ConfigTable, sections: Sequence[ConfigSection[Any]]) -> CommunitySettings:
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
            platforms[platform] = _platform_channels(section, platform)
    owned: dict[type[Any], Any] = {}
    for spec in sections:
        if spec.many:
            items = table.tables(spec.key)
            owned[spec.kind] = tuple(read_settings(item, spec.kind) for item in items)
        else:
            owned[spec.kind] = read_settings(table.table(spec.key), spec.kind)
    table.finish()
    return CommunitySettings(
        name=name,
        timezone=zone,
        language=language,
        platforms=platforms,
        feeds=feeds,
        sections=owned,
    )


def parse_config(
    data: Mapping[str, Any],
    source: str = "config.toml",
    sections: Sequence[ConfigSection[Any]] = (),
) -> Config:
    """Validate parsed TOML into a `Config`, with the features' `sections`; raise
    `ConfigError`. (`bot.config.parse_config` passes every feature's sections.)"""
    root = ConfigTable(source, "", data)
    kernel: dict[str, Any] = {
        name: read_settings(root.table(name), kind)
        for name, kind in (
            ("storage", StorageSettings),
            ("retention", RetentionSettings),
            ("web", WebSettings),
            ("fetch", FetchSettings),
            ("scheduler", SchedulerSettings),
            ("console", ConsoleSettings),
            ("discord", DiscordSettings),
            ("slack", SlackSettings),
        )
    }
    owned: dict[type[Any], Any] = {}
    for spec in sections:
        if spec.community:
            continue
        if spec.many:
            items = root.tables(spec.key)
            owned[spec.kind] = tuple(read_settings(item, spec.kind) for item in items)
        else:
            owned[spec.kind] = read_settings(root.table(spec.key), spec.kind)
    log_level = "INFO"
    if (section := root.table("bot")) is not None:
        log_level = section.text("log_level", "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
        section.finish()
    per_community = [section for section in sections if section.community]
    communities = tuple(_community(table, per_community) for table in root.tables("communities"))
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
        log_level=log_level,
        sections=owned,
        **kernel,
    )


def load_config(path: str | Path, sections: Sequence[ConfigSection[Any]] = ()) -> Config:
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
    return parse_config(data, source=str(file), sections=sections)
