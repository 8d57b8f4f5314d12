"""Outbound actions: imperative, frozen; services return them, the dispatcher performs them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef

# The longest command a button may carry everywhere: Discord's custom_id holds 100 characters.
BUTTON_COMMAND_LIMIT = 100
# A Discord message holds five rows of components: at most four menus, buttons on the fifth.
MENUS_LIMIT = 4
# A Discord string select lists at most 25 options (Slack's static select 100).
MENU_OPTIONS_LIMIT = 25


@dataclass(frozen=True, slots=True, kw_only=True)
class Button:
    """A button; `action` is the command line it runs (every button has a command twin)."""

    label: str
    action: str
    style: str = "secondary"  # "primary" | "secondary" | "danger"


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuOption:
    """One choice of a menu; `action` is the command line picking it runs (as a button's)."""

    label: str
    action: str
    chosen: bool = False  # shown as the menu's current choice


@dataclass(frozen=True, slots=True, kw_only=True)
class Menu:
    """A select menu: picking an option runs its command line (each has a typed twin)."""

    placeholder: str
    options: tuple[MenuOption, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.options) <= MENU_OPTIONS_LIMIT:
            raise ValueError(f"menu {self.placeholder!r}: 1-{MENU_OPTIONS_LIMIT} options")


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A file to send (exports, charts)."""

    filename: str
    data: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True, kw_only=True)
class Content:
    """What to say, in the neutral markup of `bot.core.markup`.

    `title` and `sections` let adapters render rich layouts (embeds, Block Kit); `text` alone
    is always a complete, readable message.
    """

    text: str
    title: str | None = None
    sections: tuple[tuple[str, str], ...] = ()  # (heading, body) pairs
    buttons: tuple[Button, ...] = ()
    menus: tuple[Menu, ...] = ()  # at most MENUS_LIMIT, shown above the buttons
    attachment: Attachment | None = None

    def __post_init__(self) -> None:
        if len(self.menus) > MENUS_LIMIT:
            raise ValueError(f"a message holds at most {MENUS_LIMIT} menus")


@dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    """Post a new message in a channel (in a thread when `thread` is given)."""

    channel: ChannelRef
    content: Content
    thread: MessageRef | None = None
    start_thread: str | None = None  # open a thread on the new message with this name


@dataclass(frozen=True, slots=True, kw_only=True)
class React:
    """Add the bot's reaction to a message."""

    message: MessageRef
    emoji: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Unreact:
    """Remove the bot's reaction from a message."""

    message: MessageRef
    emoji: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SendDirect:
    """Send a member a direct message."""

    member: MemberRef
    content: Content
    fallback: InteractionRef | None = None  # answer here privately when DMs are refused
    refused: Content | None = None  # what that private answer says (None: `content` itself)
    sent: Content | None = None  # answered privately at `fallback` once the DM is delivered


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """Answer a command or button press; `ephemeral` answers are seen by the caller only."""

    to: InteractionRef
    content: Content
    ephemeral: bool = True
    # Replace the message whose button or menu was used, instead of answering below it (a
    # stepwise form redrawn as members pick); where a platform cannot, it answers anew.
    in_place: bool = False
    # The answer refuses what was asked (a wrong value): a platform that took it from a form
    # may offer the form again, filled in with what was typed (Discord's Edit button).
    refused: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit:
    """Replace the content of one of the bot's messages."""

    message: MessageRef
    content: Content


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorGathering:
    """Create, move or cancel a platform's own copy of a live session (Discord's scheduled
    events, capability SCHEDULED_EVENTS); `mirror_id` None creates one. `perform` returns a ref
    whose `message` is the copy's id."""

    platform: str
    space: str  # the guild
    mirror_id: str | None
    title: str
    description: str
    starts_at: datetime  # aware UTC
    ends_at: datetime
    location: str  # public text: never the private meeting link
    cancelled: bool = False
    # Repeats every this many weeks at the same UTC time (0: this occurrence only): set only
    # when that is exact, so a platform's own weekly rule never drifts from the series.
    every_weeks: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Panel:
    """One part of a member's home page: a heading, text in neutral markup, its buttons."""

    heading: str
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HomePage:
    """A member's own page (Slack's App Home): their week, goal, sessions and settings."""

    title: str
    panels: tuple[Panel, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishHome:
    """Show `page` as the member's home page (replacing what it showed)."""

    member: MemberRef
    page: HomePage


Action = Post | React | Unreact | SendDirect | Answer | Edit | MirrorGathering | PublishHome


def action_platform(action: Action) -> str:
    """The platform that must perform an action."""
    match action:
        case Post():
            return action.channel.platform
        case React() | Unreact() | Edit():
            return action.message.channel.platform
        case SendDirect() | PublishHome():
            return action.member.platform
        case MirrorGathering():
            return action.platform
        case Answer():
            return action.to.platform
