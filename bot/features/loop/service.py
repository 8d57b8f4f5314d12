"""The member side of seek · sense · share: `/reflect`, `/share`, `/seek` (questions whose
answers are tracked in their threads), critical-literacy questions about links shared without
a note (answered by DM reply or `/annotate`), and the digest's reflections and open questions.

`/share` records the link with its note and answers in the channel where it was run (not
privately), so the community sees it once; it is not re-posted elsewhere. `/seek` posts the
question as a thread starter in the announcements channel (else the first watched one) of the
caller's platform; replies in that thread by others are its answers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.core.actions import Action, Content, Post, SendDirect
from bot.core.commands import DEFAULT_MAX_LENGTH, CommandSpec, Param
from bot.core.communities import CommunityDirectory
from bot.core.events import CommandInvoked, MessageDeleted, MessageReceived, Subject
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.core.refs import InteractionRef, MemberRef, MessageRef
from bot.core.suggestions import Suggestion, label, matching
from bot.core.urls import MAX_LINK_LENGTH, extract_links
from bot.features.links import (
    NewShare,
    StoredShare,
    links_seen_by,
    record_shares,
    stored_shares_of_message,
)
from bot.features.loop import store
from bot.features.members import NAMED, QUOTES, MemberSupportSettings, consent_names, consenting
from bot.runtime.outbox import Effect
from bot.runtime.sections import DigestRequest, Entry, Section, SectionProvider
from bot.runtime.service import (
    OFFERED,
    CommandHandler,
    Delivered,
    Invocation,
    Offer,
    Service,
    SuggestionQuery,
    SuggestionSource,
    Transaction,
    thread_replies,
)
from bot.storage import Connection
from bot.storage.members import get_members

log = logging.getLogger(__name__)

QUESTION_POSTED = "loop.question_posted"


async def question_posted(
    conn: Connection, args: Mapping[str, Any], ref: MessageRef | None, now: datetime
) -> None:
    """Remember where a question was posted: replies in that thread are its answers."""
    if ref is None:
        log.warning("question %s was posted but no message came back", args["question"])
        return
    await store.set_question_post(conn, int(args["question"]), str(ref.channel), ref.message)


ASK_EVERY = timedelta(days=1)  # at most one literacy question per member and day
ANSWER_WITHIN = timedelta(days=2)  # a DM this soon after a question answers it
OPEN_FOR = timedelta(days=28)  # unanswered questions stay in digests this long
NOTE_CHARS = 20  # fewer words than this around a link: it was shared without a note
QUOTE_CHARS = 280
_URL = re.compile(r"<?https?://\S+>?")

REFLECT = CommandSpec(
    name="reflect",
    help="Keep a reflection (what you made of something), optionally about a link",
    example="/reflect about=https://example.org/a This changed how I see feedback",
    params=(
        Param(
            name="about",
            help="A link it is about: its address or id, e.g. L12 (or put the link in the text)",
            required=False,
            keyword_only=True,
            max_length=MAX_LINK_LENGTH,
            suggests="links",
        ),
        Param(name="text", help="Your reflection", rest=True),
    ),
    # From a message's menu: a form about that message's link (or the message itself).
    on_message="Reflect on this",
    form=("about", "text"),
    subject_link="about",
)
SHARE = CommandSpec(
    name="share",
    help="Share a link with a note about why it matters",
    example="/share https://example.org/a A clear intro to spaced practice",
    private=False,
    # From a message's menu: its links, shared by whoever picked the entry.
    on_message="Add to digest",
    form=("url", "note"),
    params=(
        Param(name="url", help="The link", max_length=MAX_LINK_LENGTH),
        Param(name="note", help="Why it is worth reading", required=False, rest=True),
    ),
)
SEEK = CommandSpec(
    name="seek",
    help="Ask the network a question; it is posted for the community and answers are tracked",
    example="/seek Who knows a good primer on qualitative interviews?",
    params=(Param(name="question", help="Your question", rest=True),),
)
ANNOTATE = CommandSpec(
    name="annotate",
    help="Add your note to a link: its key idea, how reliable the source is",
    example="/annotate L12 Key idea: spacing beats cramming; a peer-reviewed study",
    params=(
        Param(
            name="link",
            help="The link's id (e.g. L12) or its address",
            max_length=MAX_LINK_LENGTH,
            suggests="links",
        ),
        Param(name="text", help="Your note", rest=True),
    ),
    on_message="Annotate link",
    form=("link", "text"),
    subject_link="link",
)


def _bare(text: str) -> bool:
    """True when a message is (almost) only links: nothing says why it was shared."""
    return len(" ".join(_URL.sub(" ", text).split())) < NOTE_CHARS


def _link_id(raw: str) -> str | None:
    """The digits of a link id written `L12` (or `12`), else None."""
    digits = raw.strip().upper().removeprefix("L")
    return digits if digits.isdigit() else None


def _with_scheme(raw: str) -> str:
    """An address as written; `example.org/a` is read as https."""
    raw = raw.strip()
    return raw if "://" in raw else "https://" + raw


async def _find_link(conn: Connection, community: str, raw: str) -> tuple[int, str] | None:
    """A community's link (id, canonical address) named by its id or by its address."""
    digits = _link_id(raw)
    if digits is not None:
        if int(digits) >= 2**31:  # beyond an INTEGER column: no such link
            return None
        url = await store.link_in_community(conn, community, int(digits))
        return None if url is None else (int(digits), url)
    found = extract_links(_with_scheme(raw))
    if not found:
        return None
    link_id = await store.link_id_for(conn, community, found[0].canonical)
    return None if link_id is None else (link_id, found[0].canonical)


def _short(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class LoopService(Service):
    """Reflections, shares with notes, questions to the network and link annotations."""

    name = "loop"

    def digest_sections(self) -> Sequence[SectionProvider]:
        """The week's reflections and open questions."""
        return (ReflectionsSection(), OpenQuestionsSection())

    def __init__(self, *, directory: CommunityDirectory) -> None:
        self._directory = directory
        # (community, member) -> when they may next be asked. A cache of this process only:
        # without it every bare link costs three lookups; a miss just asks the database.
        self._quiet_until: dict[tuple[str, str], datetime] = {}

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """`/reflect`, `/share`, `/seek`, `/annotate`."""
        return (
            (REFLECT, {("reflect",): self.reflect}),
            (SHARE, {("share",): self.share}),
            (SEEK, {("seek",): self.seek}),
            (ANNOTATE, {("annotate",): self.annotate}),
        )

    def suggestions(self) -> Mapping[str, SuggestionSource]:
        """The community's links, the caller's own and the newest first."""
        return {"links": self.suggest_links}

    async def suggest_links(self, query: SuggestionQuery, conn: Connection) -> list[Suggestion]:
        """Links matching what was typed (`L12`, words of the title or address): the caller's
        own shares first, then the newest; another member's only where all members read it."""
        candidates = await store.recent_shared_links(conn, query.community.name, query.member)
        digits = _link_id(query.typed) if query.typed else None
        if digits is not None and int(digits) < 2**31:
            candidates = [
                *await store.shares_of_link(conn, query.community.name, int(digits)),
                *candidates,
            ]
        seen: set[int] = set()
        found: list[Suggestion] = []
        for shared in candidates:
            if shared.link_id in seen:
                continue
            if shared.member_ref != query.member and not self._directory.is_public(shared.channel):
                continue  # shared in a DM or a private channel: not the caller's to see
            ident = f"L{shared.link_id}"
            words = (ident, shared.title or "", shared.canonical_url, shared.site_name or "")
            if digits is not None and ident.startswith(f"L{digits}"):
                pass
            elif query.typed and not matching(query.typed, *words):
                continue
            seen.add(shared.link_id)
            where = shared.site_name or shared.canonical_url.split("://", 1)[-1]
            shown = shared.title or shared.canonical_url.split("://", 1)[-1]
            found.append(Suggestion(ident, label(ident, shown, where if shared.title else "")))
            if len(found) == query.limit:
                break
        return found

    # --- commands ------------------------------------------------------------------------

    def _in_public(self, call: Invocation) -> bool:
        """Was the command run where every member reads along (a watched channel, no DM)?"""
        event = call.event
        if isinstance(event, CommandInvoked):
            return not event.is_direct and self._directory.is_read_by_all(event.channel)
        return self._directory.is_read_by_all(event.message.channel)

    async def _offers(self, call: Invocation, tx: Transaction) -> list[Offer]:
        """The newest links the caller may see: theirs, and those shared where all can read."""
        community = call.community.name
        readable = [
            str(channel)
            for channel in self._directory.bound_channels(community)
            if self._directory.is_read_by_all(channel)
        ]
        found = await links_seen_by(tx.conn, community, str(call.author.ref), readable, OFFERED)
        return [Offer(f"L{link_id}", title or url) for link_id, url, title in found]

    async def reflect(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Keep a reflection, about a link when one is given."""
        t = call.texts
        text = str(call.arguments["text"]).strip()
        about = call.arguments.get("about")
        link_url: str | None = None
        if about is not None and _link_id(str(about)) is not None:
            known = await _find_link(tx.conn, call.community.name, str(about))
            if known is None:
                text = t("loop.unknown_link", link=escape(str(about)))
                return [call.no_such(text, await self._offers(call, tx), param="about")]
            link_url = known[1]
        elif about is not None:
            found = extract_links(_with_scheme(str(about)))
            if not found:
                return [call.refuse(t("loop.bad_link", link=escape(str(about))))]
            link_url = found[0].canonical
        elif found_in_text := extract_links(text):
            link_url = found_in_text[0].canonical
        if not text:
            return [call.answer(t("loop.reflect_empty", prefix=call.prefix))]
        stored = await store.add_reflection(
            tx.conn,
            community=call.community.name,
            member_ref=str(call.author.ref),
            source=f"reflect:{call.event.key}",
            text=text,
            link_url=link_url,
            now=tx.now,
            public=self._in_public(call),
        )
        if stored is None:
            return []
        if not self._in_public(call):
            key = "loop.reflected_unread"
        elif await consenting(tx.conn, QUOTES, [str(call.author.ref)]):
            key = "loop.reflected"
        else:
            key = "loop.reflected_private"
        return [call.answer(t(key, id=stored, prefix=call.prefix))]

    async def share(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Record a link with the member's note; say so in the channel."""
        t = call.texts
        if call.subject is not None:
            return await self._share_message(call, tx, call.subject)
        raw = str(call.arguments["url"])
        found = extract_links(raw)
        if not found:
            return [call.refuse(t("loop.bad_link", link=escape(raw)), ephemeral=True)]
        link = found[0]
        note = str(call.arguments.get("note") or "").strip() or None
        event = call.event
        channel = event.channel if isinstance(event, CommandInvoked) else event.message.channel
        stored = await record_shares(
            tx.conn,
            [
                NewShare(
                    community=call.community.name,
                    canonical_url=link.canonical,
                    url=link.url,
                    member_ref=str(call.author.ref),
                    # A message ref of the usual "<channel>/<id>" form, so rankings can parse it.
                    message_ref=f"{channel}/share:{event.key}",
                    channel=str(channel),
                    context=note or "",
                    shared_at=tx.now,
                    note=note,
                )
            ],
        )
        if not stored:
            return []
        share = stored[0]
        direct = isinstance(event, CommandInvoked) and event.is_direct
        name = escape(call.author.name)
        if note:
            text = t(
                "loop.shared_note", name=name, url=link.url, note=escape(note), id=share.link_id
            )
        else:
            text = t("loop.shared", name=name, url=link.url, id=share.link_id)
        actions: list[Action] = [call.answer(text, ephemeral=direct)]
        if note is None:
            actions.extend(
                await self._maybe_ask(
                    tx, call.community.name, call.texts, [share], fallback=event.reply_to
                )
            )
        return actions

    async def _share_message(
        self, call: Invocation, tx: Transaction, subject: Subject
    ) -> list[Action]:
        """ "Add to digest" on a message: its links, shared by the member who picked it. The
        message's words are their note only when they wrote it; its author is named in the
        answer only if they allow being named."""
        t = call.texts
        found = extract_links(subject.text)
        if not found:
            return [call.answer(t("loop.menu_no_link"), ephemeral=True)]
        own = subject.author.ref == call.author.ref
        words = " ".join(_URL.sub(" ", subject.text).split()) if own else ""
        note = words[:DEFAULT_MAX_LENGTH] or None
        stored = await record_shares(
            tx.conn,
            [
                NewShare(
                    community=call.community.name,
                    canonical_url=link.canonical,
                    url=link.url,
                    member_ref=str(call.author.ref),
                    message_ref=str(subject.ref),
                    channel=str(subject.ref.channel),
                    context=words,  # never another member's words under this member's name
                    shared_at=tx.now,
                    note=note,
                )
                for link in found
            ],
        )
        ids = ", ".join(f"L{share.link_id}" for share in stored)
        if not stored:
            return [call.answer(t("loop.menu_already"), ephemeral=True)]
        if own:
            return [call.answer(t("loop.menu_added_own", ids=ids), ephemeral=True)]
        named = await consent_names(tx.conn, NAMED, [str(subject.author.ref)])
        author = named.get(str(subject.author.ref))
        if author:
            text = t("loop.menu_added_named", ids=ids, author=escape(author))
        else:
            text = t("loop.menu_added", ids=ids)
        return [call.answer(text, ephemeral=True)]

    async def seek(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Post a question to the community as a thread starter; its replies are answers."""
        t = call.texts
        question = str(call.arguments["question"]).strip()
        if not question:
            return [call.answer(t("loop.seek_empty", prefix=call.prefix))]
        question_id = await store.add_question(
            tx.conn,
            community=call.community.name,
            member_ref=str(call.author.ref),
            text=question,
            command_key=call.event.key,
            now=tx.now,
        )
        if question_id is None:
            return []
        where = self._directory.home_channel(call.community.name, call.author.ref.platform)
        if where is None:
            return [call.answer(t("loop.seek_kept", id=question_id))]
        post = Post(
            channel=where,
            content=Content(
                text=t("loop.seek_post", name=escape(call.author.name), question=escape(question))
            ),
            start_thread=t("loop.seek_thread", question=_short(question, 80)),
        )

        # Its thread's replies become answers once the platform says which message it is.
        tx.emit(
            Effect(
                action=post,
                then=QUESTION_POSTED,
                args={"question": question_id},
                member=str(call.author.ref),  # their words: /forget-me purges it unsent
            )
        )
        return [call.answer(t("loop.seek_posted", id=question_id, channel=where.channel))]

    async def annotate(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Attach the member's note to a link of this community."""
        t = call.texts
        text = str(call.arguments["text"]).strip()
        known = await _find_link(tx.conn, call.community.name, str(call.arguments["link"]))
        if known is None:
            text = t("loop.unknown_link", link=escape(str(call.arguments["link"])))
            return [call.no_such(text, await self._offers(call, tx), param="link")]
        link_id, url = known
        await store.add_annotation(
            tx.conn,
            community=call.community.name,
            link_id=link_id,
            member_ref=str(call.author.ref),
            text=text,
            source_key=call.event.key,
            now=tx.now,
            public=self._in_public(call),
        )
        await store.mark_answered(tx.conn, str(call.author.ref), link_id, tx.now)
        return [call.answer(t("loop.annotated", id=link_id, url=url))]

    # --- critical literacy ----------------------------------------------------------------

    async def _maybe_ask(
        self,
        tx: Transaction,
        community: str,
        texts: Catalog,
        stored: Sequence[StoredShare],
        fallback: InteractionRef | None = None,
    ) -> list[Action]:
        """One short question about a link shared without a note, at most daily per member."""
        support = self._directory.settings(community).section(MemberSupportSettings)
        if not support.literacy_questions:
            return []
        actions: list[Action] = []
        members = await get_members(tx.conn, [share.member_ref for share in stored])
        asked: set[str] = set()
        for share in stored:
            member = members.get(share.member_ref)
            if member is None or not member.literacy_questions or share.member_ref in asked:
                continue
            last = await store.last_ask(tx.conn, community, share.member_ref)
            if last is not None and tx.now - last < ASK_EVERY:
                self._quiet(tx, community, share.member_ref, last + ASK_EVERY)
                continue
            recorded = await store.record_ask(
                tx.conn,
                community=community,
                member_ref=share.member_ref,
                link_id=share.link_id,
                share_id=share.id,
                now=tx.now,
            )
            if not recorded:
                continue
            self._quiet(tx, community, share.member_ref, tx.now + ASK_EVERY)
            asked.add(share.member_ref)
            url = await store.link_in_community(tx.conn, community, share.link_id)
            ref = MemberRef.parse(share.member_ref)
            text = texts(
                "loop.literacy_ask",
                url=url or "",
                id=share.link_id,
                prefix=self._directory.command_prefix(ref.platform),
            )
            actions.append(SendDirect(member=ref, content=Content(text=text), fallback=fallback))
        return actions

    def _is_quiet(self, community: str, member: str, now: datetime) -> bool:
        until = self._quiet_until.get((community, member))
        return until is not None and now < until

    def _quiet(self, tx: Transaction, community: str, member: str, until: datetime) -> None:
        async def remember() -> None:  # only once the ask (or the lookup) is committed
            self._quiet_until[(community, member)] = until

        tx.after_commit(remember)

    # --- events ---------------------------------------------------------------------------

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        """Answers to questions, literacy questions and their DM answers."""
        actions: list[Action] = []
        await self._answers(batch, tx)
        for delivered in batch:
            event = delivered.event
            if not isinstance(event, MessageReceived) or event.author.is_bot:
                continue
            if event.is_direct:
                actions.extend(await self._direct_answer(delivered, event, tx))
            elif (
                delivered.is_watched
                and _bare(event.text)
                and not self._is_quiet(delivered.community.name, str(event.author.ref), tx.now)
                and extract_links(event.text)
            ):
                found = [
                    share
                    for share in await stored_shares_of_message(tx.conn, str(event.ref))
                    if share.member_ref == str(event.author.ref)
                ]
                actions.extend(
                    await self._maybe_ask(tx, delivered.community.name, delivered.texts, found)
                )
        deleted = [str(d.event.ref) for d in batch if isinstance(d.event, MessageDeleted)]
        await store.remove_answers(tx.conn, deleted)
        return actions

    async def _answers(self, batch: Sequence[Delivered], tx: Transaction) -> None:
        replies = thread_replies(batch)
        if not replies:
            return
        threads = [(str(event.ref.channel), root) for _, event, root in replies]
        found = await store.questions_for_threads(tx.conn, threads)
        rows: list[dict[str, object]] = []
        for (delivered, event, _), thread in zip(replies, threads, strict=True):
            question = found.get(thread)
            if question is None or question.community != delivered.community.name:
                continue
            if question.member_ref == str(event.author.ref) or event.author.is_bot:
                continue  # the asker's own follow-ups are not answers
            rows.append(
                {
                    "question_id": question.id,
                    "member_ref": str(event.author.ref),
                    "message_ref": str(event.ref),
                    "answered_at": event.sent_at,
                }
            )
        await store.add_answers(tx.conn, rows)

    async def _direct_answer(
        self, delivered: Delivered, event: MessageReceived, tx: Transaction
    ) -> list[Action]:
        member = str(event.author.ref)
        pending = await store.pending_ask(tx.conn, member, tx.now - ANSWER_WITHIN)
        text = event.text.strip()
        if pending is None or not text:
            return []
        await store.add_annotation(
            tx.conn,
            community=pending.community,
            link_id=pending.link_id,
            member_ref=member,
            text=text,
            source_key=event.key,
            now=tx.now,
        )
        await store.mark_answered(tx.conn, member, pending.link_id, tx.now)
        thanks = delivered.texts("loop.literacy_thanks", id=pending.link_id)
        return [SendDirect(member=event.author.ref, content=Content(text=thanks))]


class ReflectionsSection:
    """The week's reflections: quoted from members who allow it, others counted."""

    kind = "reflections"
    position = 60

    async def build(self, request: DigestRequest) -> Section | None:
        """Quote those who allow quoting; count the rest without names."""
        found = await store.week_reflections(
            request.conn, request.community.name, request.start, request.end
        )
        t = request.texts
        entries: list[Entry] = []
        private = 0
        for reflection in found:
            key = f"R{reflection.id}"
            if key in request.excluded:
                continue
            if reflection.name is None:
                private += 1
                continue
            entries.append(
                Entry(
                    key=key,
                    title=reflection.name,
                    quotes=(_short(reflection.text),),
                    detail=t("loop.about", url=reflection.link_url) if reflection.link_url else "",
                    featured=key in request.featured,
                )
            )
        entries.sort(key=lambda entry: not entry.featured)
        if private:
            entries.append(
                Entry(key="R0", title=t("loop.more_reflections", count=private), unnamed=private)
            )
        if not entries:
            return None
        return Section(self.kind, t("digest.heading_reflections"), tuple(entries))


class OpenQuestionsSection:
    """Questions asked with /seek (in the last four weeks) that nobody has answered yet."""

    kind = "open_questions"
    position = 70

    async def build(self, request: DigestRequest) -> Section | None:
        """Unanswered questions, named and quoted only where the asker allows it."""
        asked = await store.questions_asked(
            request.conn, request.community.name, request.end - OPEN_FOR, request.end
        )
        open_ = [q for q in asked if q.answers == 0 and f"Q{q.id}" not in request.excluded]
        if not open_:
            return None
        t = request.texts
        entries: list[Entry] = []
        private = 0
        for question in open_:
            # The question is the asker's own words: shown (with their name) only with quotes.
            name = (await request.quote_names([question.member_ref])).get(question.member_ref)
            if name is None:
                private += 1
                continue
            entries.append(
                Entry(
                    key=f"Q{question.id}",
                    title=_short(question.text, 200),
                    people=(name,),
                    detail=t("loop.asked_by", name=name),
                    featured=f"Q{question.id}" in request.featured,
                )
            )
        entries.sort(key=lambda entry: not entry.featured)
        if private:
            entries.append(
                Entry(key="Q0", title=t("loop.more_questions", count=private), unnamed=private)
            )
        return Section(self.kind, t("digest.heading_open_questions"), tuple(entries))
