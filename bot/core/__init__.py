"""The platform-neutral core: refs, events, actions, commands, clock and the platform seam.

Adapters import only this package.
"""

from bot.core.actions import (
    Action,
    Answer,
    Attachment,
    Button,
    Content,
    Edit,
    MirrorGathering,
    Post,
    React,
    SendDirect,
    Unreact,
    action_platform,
)
from bot.core.clock import AdjustableClock, Clock, ManualClock, SystemClock
from bot.core.commands import (
    CommandSpec,
    CommandTable,
    Param,
    ParamKind,
    Role,
    UsageError,
    parse_arguments,
    usage,
)
from bot.core.communities import CommunityDirectory, Purpose
from bot.core.config import Config, ConfigError, Secrets
from bot.core.events import (
    Author,
    ButtonPressed,
    CommandInvoked,
    Event,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ReactionAdded,
    ReactionRemoved,
)
from bot.core.platform import Capability, EventSink, Platform, PlatformError, RunsUntilDone
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef

__all__ = [
    "Action",
    "AdjustableClock",
    "Answer",
    "Attachment",
    "Author",
    "Button",
    "ButtonPressed",
    "Capability",
    "ChannelRef",
    "Clock",
    "CommandInvoked",
    "CommandSpec",
    "CommandTable",
    "CommunityDirectory",
    "Config",
    "ConfigError",
    "Content",
    "Edit",
    "Event",
    "EventSink",
    "InteractionRef",
    "ManualClock",
    "MemberJoined",
    "MemberLeft",
    "MemberRef",
    "MessageDeleted",
    "MessageEdited",
    "MessageReceived",
    "MessageRef",
    "MirrorGathering",
    "Param",
    "ParamKind",
    "Platform",
    "PlatformError",
    "Post",
    "Purpose",
    "React",
    "ReactionAdded",
    "ReactionRemoved",
    "Role",
    "RunsUntilDone",
    "Secrets",
    "SendDirect",
    "SystemClock",
    "Unreact",
    "UsageError",
    "action_platform",
    "parse_arguments",
    "usage",
]
