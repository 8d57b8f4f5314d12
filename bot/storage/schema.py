"""Tables, in SQLAlchemy Core. The schema changes only through migrations in `migrations/`.

Columns that hold a member's identity carry `info={"member": True}`: export and deletion
walk every such column, so a new table is covered the day it is added.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

MEMBER = {"member": True}
# Names another member inside someone else's row: `/forget-me` replaces, in the given text
# column, the name as stored in the given column by the given words (the row stays).
NAMED = {"names_member": True, "text": "text", "shown": "named", "instead": "someone"}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _without_nul(value: str | None) -> str | None:
    # PostgreSQL cannot store U+0000 in text; drop it on every backend so both keep the same.
    return value.replace("\x00", "") if value and "\x00" in value else value


class WrittenText(TypeDecorator[str]):
    """Unbounded text that people or remote sites wrote (it may hold even NUL characters)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _without_nul(value)


class WrittenString(TypeDecorator[str]):
    """A bounded string that people or remote sites wrote, such as a display name or a title:
    cut to the column's length (PostgreSQL refuses longer values; SQLite would keep them)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        value = _without_nul(value)
        kind = self.impl_instance
        length = kind.length if isinstance(kind, String) else None
        return value[:length] if value is not None and length else value


members = Table(
    "members",
    metadata,
    Column("ref", String(200), primary_key=True, info=MEMBER),
    Column("platform", String(20), nullable=False),
    Column("display_name", WrittenString(200), nullable=False),
    Column("first_seen_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("link_reactions", Boolean(), nullable=False, server_default=true()),
    Column("timezone", String(64), nullable=True),
    Column("digest_dm", Boolean(), nullable=False, server_default=false()),
    Column("goal_checkin", Boolean(), nullable=False, server_default=false()),
    Column("literacy_questions", Boolean(), nullable=False, server_default=true()),
    Column("nudges", Boolean(), nullable=False, server_default=true()),  # opt-out
    Column("nudge_every_days", Integer(), nullable=False, server_default="7"),  # 7 | 14
    Column("nudges_snoozed_until", UtcDateTime(), nullable=True),
)

# What a member allows (bot/features/members/consents.py lists every consent and its default):
# one row per member and consent once they answered or were asked. No row, or no answer yet
# (`given` NULL: asked, never answered), means the consent's default: off for anything that
# quotes, names or publishes a member. Asking never counts as consent.
consents = Table(
    "consents",
    metadata,
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("consent", String(40), nullable=False),  # "quotes", "named", "introductions"...
    Column("given", Boolean(), nullable=True),  # None: asked, not answered
    Column("answered_at", UtcDateTime(), nullable=True),  # None for answers kept from 0012
    Column("asked_at", UtcDateTime(), nullable=True),  # when the bot asked (once)
    PrimaryKeyConstraint("member_ref", "consent", name="pk_consents"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("ref", String(300), nullable=False, unique=True),
    Column("channel", String(200), nullable=False),
    Column("thread", String(100), nullable=True),
    Column("author_ref", String(200), nullable=False, info=MEMBER),
    Column("text", WrittenText(), nullable=True),  # cleared after the retention period
    Column("sent_at", UtcDateTime(), nullable=False),
    Column("edited_at", UtcDateTime(), nullable=True),
    Index("ix_messages_community_sent_at", "community", "sent_at"),
    Index("ix_messages_author_ref", "author_ref"),
    Index("ix_messages_community_thread_sent_at", "community", "thread", "sent_at"),
)

links = Table(
    "links",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("canonical_url", Text(), nullable=False),
    # A fixed-size digest of canonical_url: URLs up to 8 KB do not fit a B-tree index entry.
    Column("url_key", String(64), nullable=False),
    Column("url", Text(), nullable=False),
    Column("title", WrittenString(500), nullable=True),
    Column("description", WrittenText(), nullable=True),
    Column("site_name", WrittenString(200), nullable=True),
    Column("first_shared_at", UtcDateTime(), nullable=False),
    UniqueConstraint("community", "url_key", name="uq_links_community_url_key"),
)

shares = Table(
    "shares",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("link_id", Integer(), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("community", String(64), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("message_ref", String(300), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("url", Text(), nullable=False),  # as the member wrote it
    Column("context", WrittenText(), nullable=True),  # the text around the link
    Column("note", WrittenText(), nullable=True),
    Column("shared_at", UtcDateTime(), nullable=False),
    UniqueConstraint("link_id", "member_ref", "message_ref", name="uq_shares_link_member_message"),
    Index("ix_shares_message_ref", "message_ref"),
    Index("ix_shares_member_ref", "member_ref"),
    Index("ix_shares_community_shared_at", "community", "shared_at"),
)

reactions = Table(
    "reactions",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("message_ref", String(300), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("emoji", String(100), nullable=False),
    Column("reacted_at", UtcDateTime(), nullable=False),
    UniqueConstraint(
        "message_ref", "member_ref", "emoji", name="uq_reactions_message_member_emoji"
    ),
    Index("ix_reactions_member_ref", "member_ref"),
    Index("ix_reactions_community_reacted_at", "community", "reacted_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("received_at", UtcDateTime(), nullable=False, index=True),
)

# Every side effect after an acknowledgement, written in the transaction of its cause and
# performed only by the deliverer (`bot.runtime.outbox`). `words_of` (a member ref) is not
# marked as member data on purpose: rows hold interaction tokens, so they are purged by
# `/forget-me`, never exported.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("lane", String(300), nullable=False),  # rows of one lane are performed in order
    Column("platform", String(40), nullable=False),
    Column("action", Text(), nullable=True),  # JSON; cleared once delivered
    Column("words_of", String(200), nullable=True, index=True),  # a member ref
    Column("status", String(20), nullable=False),  # pending | done | parked | dropped
    Column("claimed_by", String(100), nullable=True),
    Column("claim", Integer(), nullable=False, server_default="0"),
    Column("lease_until", UtcDateTime(), nullable=False),
    Column("attempts", Integer(), nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("then_hook", String(100), nullable=True),
    Column("then_args", Text(), nullable=True),
    Column("on_park", Text(), nullable=True),
    Column("result_ref", String(300), nullable=True),
    Column("error", Text(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("done_at", UtcDateTime(), nullable=True),
    Index("ix_outbox_status_lease_until", "status", "lease_until"),
    Index("ix_outbox_done_at", "done_at"),
)

tombstones = Table(
    "tombstones",
    metadata,
    Column("member_ref", String(200), primary_key=True),  # kept on purpose: it stops re-creation
    Column("forgotten_at", UtcDateTime(), nullable=False),
)

channel_cursors = Table(
    "channel_cursors",
    metadata,
    Column("channel", String(200), primary_key=True),
    Column("cursor", String(100), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# What backfill has not read yet, per channel: messages after `after_cursor` and, once known,
# before `until_cursor`. Opened before live messages can commit, deleted once read through.
unread_ranges = Table(
    "unread_ranges",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("channel", String(200), nullable=False),
    Column("after_cursor", String(100), nullable=False),
    Column("until_cursor", String(100), nullable=True),
    Column("opened_at", UtcDateTime(), nullable=False),
    Index("ix_unread_ranges_channel", "channel"),
)


digest_issues = Table(
    "digest_issues",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("week", String(10), nullable=False),
    Column("posted_at", UtcDateTime(), nullable=False),
    UniqueConstraint("community", "week", name="uq_digest_issues_community_week"),
)

digest_posts = Table(
    "digest_posts",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("week", String(10), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("posted_at", UtcDateTime(), nullable=False),
    UniqueConstraint("community", "week", "channel", name="uq_digest_posts_community_week_channel"),
)

digest_choices = Table(
    "digest_choices",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("week", String(10), nullable=False),
    Column("item", String(40), nullable=False),
    Column("action", String(10), nullable=False),  # "exclude" | "feature"
    Column("reason", WrittenText(), nullable=True),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("chosen_at", UtcDateTime(), nullable=False),
    UniqueConstraint("community", "week", "item", name="uq_digest_choices_community_week_item"),
)

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("title", WrittenString(500), nullable=True),
    Column("site_url", String(2048), nullable=True),
    Column("owner_ref", String(200), nullable=True, info=MEMBER),  # None: a community feed
    Column("added_at", UtcDateTime(), nullable=False),
    Column("backfill", Boolean(), nullable=False, server_default=false()),
    Column("etag", WrittenString(500), nullable=True),
    Column("last_modified", WrittenString(100), nullable=True),
    Column("next_poll_at", UtcDateTime(), nullable=False),
    Column("failures", Integer(), nullable=False, server_default="0"),
    Column("paused", Boolean(), nullable=False, server_default=false()),
    Column("last_error", WrittenText(), nullable=True),
    Column("problem", WrittenText(), nullable=True),  # last read was of a malformed document
    UniqueConstraint("community", "url", name="uq_feeds_community_url"),
    Index("ix_feeds_next_poll_at", "next_poll_at"),
)

feed_entries = Table(
    "feed_entries",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("feed_id", Integer(), ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("community", String(64), nullable=False),
    Column("entry_key", String(500), nullable=False),
    Column("link", String(2048), nullable=True),
    Column("canonical_link", String(2048), nullable=True),
    Column("title", WrittenString(500), nullable=False),
    Column("summary", WrittenText(), nullable=True),  # sanitised HTML
    Column("content_hash", String(64), nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
    Column("seen_at", UtcDateTime(), nullable=False),
    Column("hidden", Boolean(), nullable=False, server_default=false()),  # older than the feed
    UniqueConstraint("feed_id", "entry_key", name="uq_feed_entries_feed_entry_key"),
    Index("ix_feed_entries_community_published_at", "community", "published_at"),
)

link_previews = Table(
    "link_previews",
    metadata,
    Column("url_key", String(64), primary_key=True),  # digest of canonical_url, as in links
    Column("canonical_url", Text(), nullable=False),
    Column("title", WrittenString(500), nullable=True),
    Column("description", WrittenText(), nullable=True),
    Column("site_name", WrittenString(200), nullable=True),
    Column("fetched_at", UtcDateTime(), nullable=False),
    Column("ok", Boolean(), nullable=False),
    Column("error", WrittenText(), nullable=True),
)

# A column marked `MEMBER_KEEP` still identifies a member (export lists its rows) but
# `/forget-me` empties it instead of deleting the row: a gathering a facilitator created belongs
# to everyone who RSVPed, so only the facilitator's name comes off it.
MEMBER_KEEP = {"member": True, "forget": "nullify"}
# Marked private, a member column is left out of another member's export of the row (a blind
# peer review names neither its reviewer to the author nor its author to the reviewer).
MEMBER_PRIVATE = {"member": True, "private": True}
MEMBER_KEEP_PRIVATE = {"member": True, "forget": "nullify", "private": True}

gatherings = Table(
    "gatherings",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("uid", String(200), nullable=False, unique=True),  # stable across edits (ICS UID)
    Column("title", WrittenString(200), nullable=False),
    Column("description", WrittenText(), nullable=True),
    Column("starts_at", UtcDateTime(), nullable=False),  # the first occurrence
    Column("duration_minutes", Integer(), nullable=False),
    Column("timezone", String(64), nullable=False),  # the wall clock a series keeps across DST
    Column("recurrence", String(500), nullable=True),  # weekly | biweekly | monthly | RRULE
    Column("where_url", WrittenString(2048), nullable=True),  # private: DMs and personal calendars
    Column("capacity", Integer(), nullable=True),
    Column("host_ref", String(200), nullable=True, info=MEMBER_KEEP),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("sequence", Integer(), nullable=False, server_default="0"),  # ICS SEQUENCE
    Column("cancelled", Boolean(), nullable=False, server_default=false()),
    Column("mirror_id", String(100), nullable=True),  # Discord's scheduled event id
    Index("ix_gatherings_community_starts_at", "community", "starts_at"),
)

rsvps = Table(
    "rsvps",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column(
        "gathering_id", Integer(), ForeignKey("gatherings.id", ondelete="CASCADE"), nullable=False
    ),
    Column("occurrence_at", UtcDateTime(), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("status", String(10), nullable=False),  # going | maybe | no
    Column("waitlisted", Boolean(), nullable=False, server_default=false()),
    Column("position", Integer(), nullable=False, server_default="0"),  # wait-list order
    Column("at", UtcDateTime(), nullable=False),
    UniqueConstraint(
        "gathering_id", "occurrence_at", "member_ref", name="uq_rsvps_gathering_occurrence_member"
    ),
    Index("ix_rsvps_member_ref", "member_ref"),
)

gathering_questions = Table(
    "gathering_questions",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column(
        "gathering_id", Integer(), ForeignKey("gatherings.id", ondelete="CASCADE"), nullable=False
    ),
    Column("occurrence_at", UtcDateTime(), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("text", WrittenText(), nullable=False),
    Column("asked_at", UtcDateTime(), nullable=False),
    Index("ix_gathering_questions_member_ref", "member_ref"),
)

# A session a facilitator previewed whose confirm command is too long for a button: the
# button confirms the draft by its number instead (kept a day).
gathering_drafts = Table(
    "gathering_drafts",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(100), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("arguments", WrittenText(), nullable=False),  # the create command's, as JSON
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_gathering_drafts_member_ref", "member_ref"),
)

gathering_threads = Table(
    "gathering_threads",
    metadata,
    Column("message_ref", String(300), primary_key=True),  # the takeaways thread's root
    Column(
        "gathering_id", Integer(), ForeignKey("gatherings.id", ondelete="CASCADE"), nullable=False
    ),
    Column("occurrence_at", UtcDateTime(), nullable=False),
    Column("community", String(64), nullable=False),
)

takeaways = Table(
    "takeaways",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column(
        "gathering_id", Integer(), ForeignKey("gatherings.id", ondelete="CASCADE"), nullable=False
    ),
    Column("occurrence_at", UtcDateTime(), nullable=False),
    Column("community", String(64), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("message_ref", String(300), nullable=False, unique=True),
    Column("text", WrittenText(), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_takeaways_community_at", "community", "at"),
    Index("ix_takeaways_member_ref", "member_ref"),
)

calendar_tokens = Table(
    "calendar_tokens",
    metadata,
    Column("member_ref", String(200), primary_key=True, info=MEMBER),
    Column("token", String(64), nullable=False, unique=True),  # random, per member
    Column("created_at", UtcDateTime(), nullable=False),
)

# --- scheduling ---------------------------------------------------------------------------

job_runs = Table(
    "job_runs",
    metadata,
    Column("job_id", String(200), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("claimed_by", String(100), nullable=False),
    Column("lease_until", UtcDateTime(), nullable=False),
    Column("status", String(20), nullable=False),  # running | done | failed | skipped
    Column("attempts", Integer(), nullable=False, server_default="1"),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("error", Text(), nullable=True),
    PrimaryKeyConstraint("job_id", "due_at", name="pk_job_runs"),
    Index("ix_job_runs_status_lease_until", "status", "lease_until"),
)

job_run_parts = Table(
    "job_run_parts",
    metadata,
    Column("job_id", String(200), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("part", String(200), nullable=False),
    Column("ref", String(300), nullable=True),  # what was posted, e.g. a message ref
    Column("sent_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("job_id", "due_at", "part", name="pk_job_run_parts"),
    ForeignKeyConstraint(
        ["job_id", "due_at"],
        ["job_runs.job_id", "job_runs.due_at"],
        name="fk_job_run_parts_job_runs",
        ondelete="CASCADE",
    ),
)

job_marks = Table(
    "job_marks",
    metadata,
    Column("job_id", String(200), primary_key=True),
    Column("first_seen_at", UtcDateTime(), nullable=False),  # nothing before it is a miss
    Column("checked_through", UtcDateTime(), nullable=False),  # misses before it are logged
)

# --- prompts and reflections ---------------------------------------------------------------

prompt_schedules = Table(
    "prompt_schedules",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("stage", String(10), nullable=False),  # seek | sense | share
    Column("rule", String(200), nullable=False),  # the schedule text, as parse_rule reads it
    Column("channel", String(200), nullable=False),
    Column("text", Text(), nullable=True),  # None: rotate through the prompt library
    Column("paused", Boolean(), nullable=False, server_default=false()),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_prompt_schedules_community", "community"),
)

prompt_posts = Table(
    "prompt_posts",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("schedule_id", Integer(), nullable=True),  # kept after the schedule is removed
    Column("community", String(64), nullable=False),
    Column("stage", String(10), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("message", String(100), nullable=False),  # the thread starter's id in `channel`
    Column("text", Text(), nullable=False),
    Column("library_key", String(100), nullable=True),
    Column("posted_at", UtcDateTime(), nullable=False),
    UniqueConstraint("channel", "message", name="uq_prompt_posts_channel_message"),
    UniqueConstraint("schedule_id", "due_at", name="uq_prompt_posts_schedule_id_due_at"),
)

prompt_library_uses = Table(
    "prompt_library_uses",
    metadata,
    Column("community", String(64), nullable=False),
    Column("stage", String(10), nullable=False),
    Column("prompt_key", String(100), nullable=False),
    Column("used_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("community", "stage", "prompt_key", name="pk_prompt_library_uses"),
)

reflections = Table(
    "reflections",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("prompt_post_id", Integer(), ForeignKey("prompt_posts.id"), nullable=True),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("message_ref", String(300), nullable=False, unique=True),
    Column("text", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("edited_at", UtcDateTime(), nullable=True),
    Column("link_url", String(2048), nullable=True),  # canonical URL it is about (/reflect)
    # Written where every member reads it (a prompt's thread, /reflect in a watched channel):
    # only then may it be quoted.
    Column("public", Boolean(), nullable=False, server_default=false()),
    Index("ix_reflections_member_ref", "member_ref"),
    Index("ix_reflections_community_created_at", "community", "created_at"),
    Index("ix_reflections_prompt_post_id", "prompt_post_id"),
)

# --- member loop: questions, goals, annotations, onboarding ---------------------------------

questions = Table(
    "questions",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("text", WrittenText(), nullable=False),
    Column("command_key", String(300), nullable=False, unique=True),
    Column("channel", String(200), nullable=True),  # where it was posted (None: not yet)
    Column("message", String(100), nullable=True),  # the thread starter's id in `channel`
    Column("asked_at", UtcDateTime(), nullable=False),
    Index("ix_questions_community_asked_at", "community", "asked_at"),
    Index("ix_questions_member_ref", "member_ref"),
)

question_answers = Table(
    "question_answers",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column(
        "question_id", Integer(), ForeignKey("questions.id", ondelete="CASCADE"), nullable=False
    ),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("message_ref", String(300), nullable=False, unique=True),
    Column("answered_at", UtcDateTime(), nullable=False),
    Index("ix_question_answers_question_id", "question_id"),
    Index("ix_question_answers_member_ref", "member_ref"),
)

goals = Table(
    "goals",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("text", WrittenText(), nullable=False),
    Column("set_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("status", String(10), nullable=False),  # active | done | replaced
    Index("ix_goals_member_ref", "member_ref"),
    Index("ix_goals_community_status", "community", "status"),
)

link_annotations = Table(
    "link_annotations",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("link_id", Integer(), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("community", String(64), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("text", WrittenText(), nullable=False),
    Column("source_key", String(300), nullable=False, unique=True),  # the event it came from
    Column("created_at", UtcDateTime(), nullable=False),
    # /annotate in a watched channel; a direct-message answer is never quoted.
    Column("public", Boolean(), nullable=False, server_default=false()),
    Index("ix_link_annotations_link_id", "link_id"),
    Index("ix_link_annotations_member_ref", "member_ref"),
    Index("ix_link_annotations_community_created_at", "community", "created_at"),
)

literacy_asks = Table(
    "literacy_asks",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("link_id", Integer(), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("share_id", Integer(), nullable=False, unique=True),
    Column("asked_at", UtcDateTime(), nullable=False),
    Column("answered_at", UtcDateTime(), nullable=True),
    Index("ix_literacy_asks_member_ref_asked_at", "member_ref", "asked_at"),
)

welcomes = Table(
    "welcomes",
    metadata,
    Column("community", String(64), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("welcomed_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("community", "member_ref", name="pk_welcomes"),
)

community_threads = Table(
    "community_threads",
    metadata,
    Column("community", String(64), nullable=False),
    Column("kind", String(20), nullable=False),  # "introductions"
    Column("channel", String(200), nullable=False),
    Column("message", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("community", "kind", "channel", name="pk_community_threads"),
)


# --- engagement: memberships, nudges, introductions ------------------------------------------

memberships = Table(
    "memberships",
    metadata,
    Column("community", String(64), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("joined_at", UtcDateTime(), nullable=False),  # the first sign of them here
    Column("first_active_at", UtcDateTime(), nullable=True),  # their first own action here
    Column("last_active_at", UtcDateTime(), nullable=True),  # their last own action here
    Column("contacted_at", UtcDateTime(), nullable=True),  # last command, button or DM to the bot
    Column("facilitator", Boolean(), nullable=False, server_default=false()),  # as last seen
    PrimaryKeyConstraint("community", "member_ref", name="pk_memberships"),
    Index("ix_memberships_member_ref", "member_ref"),
)

nudges = Table(
    "nudges",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("sent_at", UtcDateTime(), nullable=False),
    Column("reason", String(20), nullable=False),  # inactive | fell
    Column("step", String(20), nullable=False),  # the small step offered, e.g. react | event
    Column("text", WrittenText(), nullable=False),  # exactly what was sent
    Column("answered_at", UtcDateTime(), nullable=True),  # first own action within the window
    # A peer the text names (their link was the step): taken out of the text when they ask to
    # be forgotten. Not a column of theirs to export: the nudge is the recipient's.
    Column("named_ref", String(200), nullable=True, info=NAMED),
    Column("named", WrittenString(300), nullable=True),  # exactly as it stands in `text`
    Index("ix_nudges_community_sent_at", "community", "sent_at"),
    Index("ix_nudges_member_ref", "member_ref"),
)

introductions = Table(
    "introductions",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("member_a", String(200), nullable=False, info=MEMBER),  # the smaller ref of the pair
    Column("member_b", String(200), nullable=False, info=MEMBER),
    Column("topics", WrittenText(), nullable=False),  # what they have in common, as sent
    Column("introduced_at", UtcDateTime(), nullable=False),
    UniqueConstraint(
        "community", "member_a", "member_b", name="uq_introductions_community_member_a"
    ),
    Index("ix_introductions_member_b", "member_b"),
)

# --- the member's home page (Slack's App Home) -----------------------------------------------

home_views = Table(
    "home_views",
    metadata,
    Column("member_ref", String(200), primary_key=True, info=MEMBER),
    Column("community", String(64), nullable=False),  # the community their page shows
    Column("opened_at", UtcDateTime(), nullable=False),  # when they last opened it
    Column("facilitator", Boolean(), nullable=False, server_default=false()),  # as last seen
    # A publish written and not yet confirmed (None: none on its way); a change meanwhile
    # sets `stale`, and the confirmation writes one more publish.
    Column("publishing_since", UtcDateTime(), nullable=True),
    Column("stale", Boolean(), nullable=False, server_default=false()),
    Index("ix_home_views_opened_at", "opened_at"),
)

# --- assignments (bot/features/assignments) --------------------------------------------------
# An assignment keeps its own copy of its rubric and scale (JSON), so changing config.toml
# never changes what members already evaluated themselves against.
assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("community", String(64), nullable=False),
    Column("title", WrittenString(200), nullable=False),
    Column("description", WrittenText(), nullable=True),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("rubric_name", String(64), nullable=True),  # None: written inline
    Column("rubric", WrittenText(), nullable=False),  # [{"name": ..., "levels": [...]}]
    Column("scale_name", String(64), nullable=True),
    Column("scale", WrittenText(), nullable=False),  # ["A", "B", ...], best first
    Column("accepts", String(32), nullable=False),  # "link,blog,text"
    Column("late_ok", Boolean(), nullable=False, server_default=true()),
    Column("created_by", String(200), nullable=True, info=MEMBER_KEEP),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    # Peer review: how many reviews each submission gets (0: none), whether reviewers and
    # authors stay unnamed to each other, when reviews are due, whether members who did not
    # submit review too; when reviewers were paired and reminded.
    Column("peer_reviews", Integer(), nullable=False, server_default="0"),
    Column("blind", Boolean(), nullable=False, server_default=true()),
    Column("review_due_at", UtcDateTime(), nullable=True),
    Column("open_reviewing", Boolean(), nullable=False, server_default=false()),
    Column("reviews_assigned_at", UtcDateTime(), nullable=True),
    Column("review_reminded_at", UtcDateTime(), nullable=True),
    Index("ix_assignments_community", "community", "due_at"),
)

# One member's later due time for one assignment.
assignment_extensions = Table(
    "assignment_extensions",
    metadata,
    Column(
        "assignment_id",
        Integer(),
        ForeignKey("assignments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("granted_by", String(200), nullable=True, info=MEMBER_KEEP),
    Column("granted_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("assignment_id", "member_ref", name="pk_assignment_extensions"),
)

# Every version a member submitted with its self-evaluation; the current one has no
# `replaced_at`. Seen only by the member and the community's facilitators.
submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column(
        "assignment_id",
        Integer(),
        ForeignKey("assignments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column("version", Integer(), nullable=False),
    Column("kind", String(8), nullable=False),  # "link" | "blog" | "text"
    Column("work", WrittenText(), nullable=False),  # the address, or the text itself
    Column("title", WrittenString(200), nullable=False),  # what a digest listing shows
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("late", Boolean(), nullable=False, server_default=false()),
    Column("levels", Text(), nullable=False),  # a level index per criterion (JSON)
    Column("strengths", WrittenText(), nullable=False),
    Column("improve", WrittenText(), nullable=False),
    Column("proposed_grade", WrittenString(32), nullable=False),
    Column("status", String(12), nullable=False),  # "submitted" | "discussing" | "graded"
    Column("final_grade", WrittenString(32), nullable=True),
    Column("graded_by", String(200), nullable=True, info=MEMBER_KEEP),
    Column("graded_at", UtcDateTime(), nullable=True),
    Column("replaced_at", UtcDateTime(), nullable=True),
    UniqueConstraint("assignment_id", "member_ref", "version", name="uq_submissions_version"),
    Index("ix_submissions_member_ref", "member_ref"),
    Index("ix_submissions_assignment_id", "assignment_id", "status"),
)

# The facilitators' comments, proposed grades and the dialogue about one submission.
grade_notes = Table(
    "grade_notes",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column(
        "submission_id",
        Integer(),
        ForeignKey("submissions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("author_ref", String(200), nullable=True, info=MEMBER_KEEP),
    Column("by_facilitator", Boolean(), nullable=False),
    Column("kind", String(10), nullable=False),  # "accept" | "propose" | "final" | "reply"
    Column("grade", WrittenString(32), nullable=True),
    Column("text", WrittenText(), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_grade_notes_submission_id", "submission_id"),
)

# One peer review: who reviews which submission, the levels picked so far (the row is its own
# draft) and, once submitted, the strength and suggestion. The reviewer's name leaves the row
# when they are forgotten (the reviewed member keeps the review); neither side's name reaches
# the other's export.
peer_reviews = Table(
    "peer_reviews",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column(
        "assignment_id",
        Integer(),
        ForeignKey("assignments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "submission_id",
        Integer(),
        ForeignKey("submissions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("reviewee_ref", String(200), nullable=False, info=MEMBER_PRIVATE),
    Column("reviewer_ref", String(200), nullable=True, info=MEMBER_KEEP_PRIVATE),
    Column("assigned_at", UtcDateTime(), nullable=False),
    Column("levels", Text(), nullable=False),  # JSON: a level index (or null) per criterion
    Column("strength", WrittenText(), nullable=True),
    Column("suggestion", WrittenText(), nullable=True),
    Column("submitted_at", UtcDateTime(), nullable=True),
    Column("late", Boolean(), nullable=False, server_default=false()),
    UniqueConstraint("submission_id", "reviewer_ref", name="uq_peer_reviews_pair"),
    Index("ix_peer_reviews_reviewer_ref", "reviewer_ref"),
    Index("ix_peer_reviews_assignment_id", "assignment_id"),
    Index("ix_peer_reviews_reviewee_ref", "reviewee_ref"),
)

# A submission under way: the work and the levels picked so far, kept for 24 hours.
submission_drafts = Table(
    "submission_drafts",
    metadata,
    Column("member_ref", String(200), nullable=False, info=MEMBER),
    Column(
        "assignment_id",
        Integer(),
        ForeignKey("assignments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("state", WrittenText(), nullable=False),  # JSON: kind, work, title, levels
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("member_ref", "assignment_id", name="pk_submission_drafts"),
)
