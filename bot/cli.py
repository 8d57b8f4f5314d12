"""The `facilitator` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.app import Application
from bot.config import load_config
from bot.core import markup
from bot.core.clock import SystemClock
from bot.core.communities import CommunityDirectory
from bot.core.config import CommunitySettings, Config, ConfigError, Secrets
from bot.core.i18n import Catalog
from bot.core.logs import NOISY_LOGGERS, RedactSecrets
from bot.core.platform import PlatformError
from bot.core.refs import MemberRef
from bot.core.schedules import parse_rule
from bot.core.weeks import IsoWeek, resolve_week
from bot.features import FEATURES
from bot.features.assignments import GradesExportError, grade_rows, grading_line
from bot.features.assignments import to_csv as grades_csv
from bot.features.assignments import to_json as grades_json
from bot.features.digest import DigestSchedule, DigestService
from bot.features.digest.render import to_html, to_json, to_markdown
from bot.features.feeds import FeedService
from bot.features.introductions import IntroductionSettings
from bot.features.members import MemberSupportSettings
from bot.features.members.service import export_document
from bot.features.nudges import NudgeSettings
from bot.features.nudges.service import STEPS, NudgeLibrary
from bot.features.prompts import PromptSettings
from bot.features.prompts.service import stored_schedule_lines
from bot.features.reports.chart import chart_png
from bot.features.reports.model import summarise
from bot.features.reports.render import report_text
from bot.features.reports.render import to_json as report_json
from bot.features.reports.store import report_inputs
from bot.runtime.feature import member_tables
from bot.runtime.platforms import check_tokens, console_wanted
from bot.storage.database import Database, StorageError
from bot.storage.member_data import export_member
from bot.web.server import WebServerError

log = logging.getLogger("facilitator")

EXIT_CONFIG = 2
EXIT_PLATFORM = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facilitator",
        description="A bot that facilitates connectivist learning communities.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.add_argument(
            "--config", default="config.toml", help="the configuration file (default: config.toml)"
        )
        return sub

    add("run", "start the bot (the console when no platform tokens are set)")
    add("check", "validate the configuration and print what would run")
    db = add("db", "manage the database schema")
    db.add_argument("action", choices=["upgrade"], help="upgrade: apply every migration")
    digest = add("digest", "preview a week's digest as Markdown, HTML or JSON")
    digest.add_argument("action", choices=["preview"], help="preview: print the digest")
    digest.add_argument("--week", help="an ISO week such as 2026-W48 (default: the last full one)")
    digest.add_argument("--format", choices=["md", "html", "json"], default="md")
    digest.add_argument("--community", help="the community's name (default: the first)")
    report = add("report", "print a week's facilitator report as text or JSON (read-only)")
    report.add_argument("--week", help="an ISO week such as 2026-W48 (default: this week)")
    report.add_argument("--community", help="the community's name (default: the first)")
    report.add_argument("--chart", help="also write the chart of weekly activity to this PNG")
    report.add_argument("--format", choices=["text", "json"], default="text")
    feeds = add("feeds", "poll every due member and community feed once, with a progress bar")
    feeds.add_argument("action", choices=["poll"], help="poll: one polling round now")
    export = add("export", "write everything kept about one member as JSON")
    export.add_argument("--member", required=True, help="a member reference, e.g. console:/alice")
    export.add_argument("--output", help="a file to write (default: standard output)")
    grades = add("grades", "export an assignment's submissions, self-evaluations and grades")
    grades.add_argument("action", choices=["export"], help="export: print or write them")
    grades.add_argument("--assignment", required=True, help="the assignment's id, e.g. A1")
    grades.add_argument("--format", choices=["csv", "json"], default="csv")
    grades.add_argument("--output", help="a file to write (default: standard output)")
    return parser


def _logging(config: Config | None) -> None:
    logging.basicConfig(
        level=getattr(logging, config.log_level if config else "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets())  # at every level, whatever logger wrote the line
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def discord_hidden_commands_note(roles: Sequence[str]) -> str:
    """What a Discord server admin must do once for facilitators to see their commands."""
    allowed = ", ".join(roles) if roles else "your facilitators' role (or the facilitators)"
    return (
        "facilitator commands are hidden from members on Discord: a server admin allows "
        f"{allowed} under Server Settings → Integrations → the bot → Commands "
        "(the bot still checks who facilitates when one is run)"
    )


def describe(config: Config, secrets: Secrets) -> str:
    """What `check` prints: communities, platforms and channels."""
    check_tokens(config, secrets)
    lines = [f"{config.source}: OK"]
    platforms = []
    if secrets.discord_token:
        platforms.append("discord")
    if secrets.slack_bot_token:
        platforms.append(f"slack ({config.slack.mode} mode)")
    if console_wanted(config, secrets):
        platforms.append("console")
    lines.append(f"platforms: {', '.join(platforms) or 'none'}")
    lines.append(f"storage: {Database(config.storage.url).describe()}")
    if config.web.enabled:
        lines.append(
            f"web: {config.web.base_url} (listening on {config.web.host}:{config.web.port})"
        )
    else:
        lines.append("web: off")
    for community in config.communities:
        local = datetime.now(community.zone)
        lines.append(
            f"community {community.name}: time zone {community.timezone} "
            f"(now {local:%a %H:%M %Z}), language {community.language}"
        )
        for platform, section in community.platforms.items():
            where = f" in {section.space}" if section.space else ""
            lines.append(
                f"  {platform}{where}: watching {', '.join(section.channels) or 'no channels'}"
                + (f"; announcements {section.announcements}" if section.announcements else "")
                + (f"; digest {section.digest}" if section.digest else "")
            )
            if platform == "discord":
                lines.append("    " + discord_hidden_commands_note(section.facilitator_roles))
        prompts = community.section_list(PromptSettings)
        schedules = [(f"prompt {prompt.stage}", prompt.when) for prompt in prompts]
        if digest_when := community.section(DigestSchedule).when:
            schedules.append(("weekly digest", digest_when))
        checkin = community.section(MemberSupportSettings).goal_checkin
        schedules.append(("goal check-ins (members who opted in)", checkin))
        introductions = community.section(IntroductionSettings)
        if introductions.enabled:
            schedules.append(("introductions (members who opted in)", introductions.when))
        for label, when in schedules:
            rule = parse_rule(when)
            moment, upcoming = datetime.now(UTC), []
            for _ in range(3):
                moment = rule.next_after(moment, community.zone)
                upcoming.append(f"{moment.astimezone(community.zone):%a %d %b %H:%M}")
            lines.append(f"  {label}: {rule.describe()}; next {', '.join(upcoming)}")
        lines.append(f"  {_nudges_line(community)}")
    return "\n".join(lines)


def _nudges_line(community: CommunitySettings) -> str:
    """The community's nudge settings; loading the library checks it (NudgeLibraryError)."""
    nudges = community.section(NudgeSettings)
    library = NudgeLibrary.load(nudges.library, community.language)  # checked even when off
    if not nudges.enabled:
        return "nudges: off"
    wordings = sum(len(library.variants(step)) for step in STEPS)
    return (
        f"nudges: hourly, at most one per member every {nudges.every_days} days, never "
        f"{nudges.quiet_start}-{nudges.quiet_end} their time, at most {nudges.hourly_cap} an "
        f"hour; library {nudges.library or 'built in'} ({wordings} wordings)"
    )


async def _run(config: Config, secrets: Secrets) -> int:
    app = Application(config, secrets=secrets, clock=SystemClock())
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stopping.set)
    try:
        await app.start()
    except (StorageError, WebServerError) as error:
        print(error, file=sys.stderr)
        await app.stop()
        return EXIT_CONFIG
    except ConfigError as error:
        print(error, file=sys.stderr)
        await app.stop()
        return EXIT_CONFIG
    except PlatformError as error:  # a refused token, an unreachable platform
        print(error, file=sys.stderr)
        await app.stop()
        return EXIT_PLATFORM
    # What start-up built (services, caches, the platforms' state) lives as long as the
    # process: left out of the collector's full passes, they stay short under load.
    gc.freeze()
    names = ", ".join(platform.name for platform in app.platforms) or "none"
    if not secrets.any_platform and console_wanted(config, secrets):
        log.info("no platform tokens in the environment: running the console adapter")
    log.info("running: platforms %s", names)
    done = asyncio.ensure_future(app.wait_done())
    stop = asyncio.ensure_future(stopping.wait())
    await asyncio.wait([done, stop], return_when=asyncio.FIRST_COMPLETED)
    for task in (done, stop):
        task.cancel()
    try:
        await asyncio.wait_for(app.drain(), timeout=30)
    except TimeoutError:
        log.warning("some work was still running after 30 s; stopping anyway")
    await app.stop()
    return 0


async def _db_upgrade(config: Config) -> int:
    database = Database(config.storage.url)
    try:
        await database.migrate()
    finally:
        await database.close()
    print(f"{database.describe()}: schema is up to date")
    return 0


def _chosen_community(config: Config, name: str | None) -> CommunitySettings | None:
    """The community `--community` names (default: the first), or None after saying why."""
    try:
        return config.community(name) if name else config.communities[0]
    except KeyError:
        names = ", ".join(c.name for c in config.communities)
        print(f"--community {name!r}: not configured; choose one of {names}", file=sys.stderr)
        return None


async def _digest_preview(
    config: Config, week_text: str | None, output_format: str, community_name: str | None
) -> int:
    community = _chosen_community(config, community_name)
    if community is None:
        return EXIT_CONFIG
    clock = SystemClock()
    try:
        week = resolve_week(week_text, clock.now(), community.zone)
    except ValueError as problem:
        print(f"--week: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    app = Application(config, secrets=Secrets.from_environment(), clock=clock, platforms=[])
    await app.database.migrate()
    texts = Catalog(community.language)
    try:
        async with app.database.reading() as conn:
            digests = app.service(DigestService)
            digest = await digests.build(conn, community, week, texts, clock.now())
    finally:
        await app.database.close()
    if output_format == "json":
        sys.stdout.write(to_json(digest) + "\n")
    elif output_format == "html":
        sys.stdout.write(to_html(digest, texts))
    else:
        sys.stdout.write(markup.to_plain(to_markdown(digest, texts)))
    return 0


async def _report(
    config: Config,
    week_text: str | None,
    community_name: str | None,
    chart: str | None,
    output_format: str,
) -> int:
    community = _chosen_community(config, community_name)
    if community is None:
        return EXIT_CONFIG
    if chart and (unwritable := _unwritable("--chart", chart)):
        print(unwritable, file=sys.stderr)
        return EXIT_CONFIG
    now = datetime.now(UTC)
    try:
        week = (
            IsoWeek.containing(now, community.zone)
            if week_text is None
            else resolve_week(week_text, now, community.zone)
        )
    except ValueError as problem:
        print(f"--week: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    database = Database(config.storage.url)
    try:
        await database.migrate()
        async with database.reading() as conn:  # read-only: answers are judged, not recorded
            inputs = await report_inputs(
                conn, community, week, now, directory=CommunityDirectory(config)
            )
            start, end = week.bounds(community.zone)
            grading = await grading_line(conn, community, start, end, Catalog(community.language))
    finally:
        await database.close()
    report = summarise(inputs)
    texts = Catalog(community.language)
    if chart:
        first, last = report.history[0].week, report.history[-1].week
        image = chart_png(
            report.history,
            texts("reports.chart_title", community=community.name, first=first, last=last),
            texts("reports.chart_x"),
            texts("reports.chart_y"),
        )
        if failed := _write("--chart", chart, image):
            print(failed, file=sys.stderr)
            return EXIT_CONFIG
        print(f"wrote the chart to {chart}", file=sys.stderr)
    if output_format == "json":
        sys.stdout.write(report_json(report) + "\n")
    else:
        text = report_text(report, texts, community.section(NudgeSettings).inactive_days)
        if grading is not None:
            text += "\n" + grading
        sys.stdout.write(markup.to_plain(text) + "\n")
    return 0


def _progress_bar(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {done}/{total} feeds")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def _feeds_poll(config: Config) -> int:
    app = Application(config, secrets=Secrets.from_environment(), clock=SystemClock(), platforms=[])
    await app.database.migrate()
    await app.dispatcher.start()
    await app.fetcher.start()
    try:
        feeds = app.service(FeedService)
        await feeds.sync_configured()
        report = await feeds.poll_due(progress=_progress_bar)
        await app.dispatcher.drain()
    finally:
        await app.dispatcher.stop()
        await app.fetcher.close()
        app.pool.close()
        await app.database.close()
    print(
        f"polled {report.polled} feed(s): {report.new_entries} new post(s), "
        f"{report.not_modified} unchanged, {report.failed} failed"
        + (f", {report.problems} read with problems" if report.problems else "")
        + (f", {len(report.paused)} paused" if report.paused else "")
    )
    if report.failed:
        sys.stderr.write(f"{report.failed} of {report.polled} feed(s) failed:\n")
        for url, reason in sorted(report.failures):
            sys.stderr.write(f"  {url}: {reason}\n")
        return 1
    return 0


def _unwritable(flag: str, path: str) -> str | None:
    """Why `path` cannot be written to (checked before any work is done), or None."""
    target = Path(path)
    if target.is_dir():
        return f"{flag} {path}: that is a folder; name a file in it, e.g. {target / 'out'}"
    folder = target.parent
    if not folder.is_dir():
        return f"{flag} {path}: the folder {folder} does not exist; create it or pick another"
    return None


def _write(flag: str, path: str, data: bytes) -> str | None:
    """Write `data` to `path`; the reason it failed, or None."""
    try:
        Path(path).write_bytes(data)
    except OSError as error:
        return f"{flag} {path}: cannot write it ({error.strerror or error}); pick another path"
    return None


async def _export(config: Config, member: str, output: str | None) -> int:
    try:
        MemberRef.parse(member)
    except ValueError:
        print(f"--member {member!r}: write a reference such as console:/alice", file=sys.stderr)
        return EXIT_CONFIG
    if output and (problem := _unwritable("--output", output)):
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    database = Database(config.storage.url)
    try:
        await database.migrate()
        async with database.reading() as conn:
            data = await export_member(conn, member, member_tables(FEATURES))
    finally:
        await database.close()
    rows = sum(len(rows) for rows in data.values())
    if not rows:
        print(
            f"--member {member}: nothing is stored about this member; check the reference "
            "(platform:/id, as /profile or the database shows it)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    document = export_document(member, data, datetime.now().astimezone())
    if output:
        if problem := _write("--output", output, document):
            print(problem, file=sys.stderr)
            return EXIT_CONFIG
        print(f"wrote {rows} records about {member} to {output}")
    else:
        sys.stdout.write(document.decode("utf-8") + "\n")
    return 0


async def _grades_export(config: Config, assignment: str, format: str, output: str | None) -> int:
    if output and (problem := _unwritable("--output", output)):
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    database = Database(config.storage.url)
    try:
        await database.migrate()
        async with database.reading() as conn:
            rows = await grade_rows(conn, assignment)
    except GradesExportError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    finally:
        await database.close()
    document = grades_csv(rows) if format == "csv" else grades_json(rows) + "\n"
    if output:
        if problem := _write("--output", output, document.encode("utf-8")):
            print(problem, file=sys.stderr)
            return EXIT_CONFIG
        print(f"wrote {len(rows)} submitted versions of {assignment.upper()} to {output}")
    else:
        sys.stdout.write(document)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `facilitator` command."""
    arguments = _parser().parse_args(argv)
    try:
        config = load_config(arguments.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    _logging(config)
    secrets = Secrets.from_environment()
    try:
        if arguments.command == "check":
            print(describe(config, secrets))
            for line in asyncio.run(stored_schedule_lines(config, datetime.now(UTC))):
                print(line)
            return 0
        if arguments.command == "run":
            return asyncio.run(_run(config, secrets))
        if arguments.command == "db":
            return asyncio.run(_db_upgrade(config))
        if arguments.command == "digest":
            return asyncio.run(
                _digest_preview(config, arguments.week, arguments.format, arguments.community)
            )
        if arguments.command == "report":
            return asyncio.run(
                _report(
                    config,
                    arguments.week,
                    arguments.community,
                    arguments.chart,
                    arguments.format,
                )
            )
        if arguments.command == "feeds":
            return asyncio.run(_feeds_poll(config))
        if arguments.command == "export":
            return asyncio.run(_export(config, arguments.member, arguments.output))
        if arguments.command == "grades":
            return asyncio.run(
                _grades_export(config, arguments.assignment, arguments.format, arguments.output)
            )
    except (StorageError, ConfigError) as error:  # ConfigError: e.g. a broken nudge library
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    raise AssertionError(arguments.command)
