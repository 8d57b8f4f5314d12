"""The console's input language: the line syntax members type, as patterns (pure).

`alice: text`, `alice@resources: text`, `alice: /profile`, `alice>12: reply in 12's thread`,
`alice~12: edited text`, `alice-12` (delete), `alice+12 :bookmark:` / `alice-12 :bookmark:`
(react / unreact), `alice@dm: text` (a direct message to the bot), `alice!press 3` (a button),
`alice!form /goal set`, `alice!send`, `alice!cancel` (forms), `alice!share 12` and
`alice!reflect 12` (message shortcuts), `alice!home` (her home page), `!clock +1d`,
`!help`; the platform turns a match into a core event.
"""

from __future__ import annotations

import re

from bot.core import Author, ChannelRef, MemberRef

PLATFORM = "console"

SYNTAX = """\
Console syntax (one line each):
  alice: text               alice says text in the first channel
  alice@resources: text     ... in #resources
  alice: /profile           alice runs a command (/help lists them)
  alice>12: text            alice replies in the thread of post 12
  alice~12: text            alice edits her post 12
  alice-12                  alice deletes her post 12
  alice+12 :bookmark:       alice reacts to post 12 (alice-12 :bookmark: takes it back)
  alice@dm: text            alice writes to the bot in her direct messages (answers a ✉)
  alice!press 3             alice presses button 3 (!press 3: the one it was shown to)
  alice!form /event create  alice fills the command's arguments one at a time (a command
                            that needs two or more, typed bare, opens its form by itself);
                            alice: value fills a field, alice: - skips an optional one,
                            alice!send sends it (once the required ones are filled),
                            alice!cancel closes the form; alice!form alone opens the
                            last one sent again (alice: = keeps a field as it was)
  alice!share 12            Slack's "Add to digest" on post 12: /share's form, its link in
  alice!reflect 12          "Reflect on this": /reflect's form about post 12's link
  alice!annotate 12         "Annotate link": /annotate's form for post 12's link
  alice!home                alice opens her home page (Slack's App Home): her week, goal,
                            sessions and settings, with buttons (facilitators: the report
                            and the digest)
  !clock +1d                move the clock (+30m, +2h, +1d, +1w); !clock shows it
  !help                     this text"""

NAME = r"(?P<name>[A-Za-z0-9_.\-]{1,40}?)"
LINE = re.compile(
    NAME + r"(?:@(?P<channel>[A-Za-z0-9_\-]+))?"
    r"(?:(?P<op>[>~])(?P<target>\d+))?:\s?(?P<text>.*)$",
    re.DOTALL,
)
# A member's console instruction: `alice!press 3`, `alice!form /goal set`, `alice!cancel`.
MEMBER_INSTRUCTION = re.compile(NAME + r"!(?P<instruction>[a-z]+)(?:\s+(?P<rest>.*?))?\s*$")
PRESS = re.compile(r"^!press(?:\s+(?P<button>.*?))?\s*$")
DM = "dm"  # `alice@dm: text`: the conversation between alice and the bot
SKIP = "-"  # the answer that leaves an optional form field empty
KEEP = "="  # the answer that keeps a field of a form opened again as it was sent
DELETE = re.compile(NAME + r"-(?P<target>\d+)\s*$")
REACT = re.compile(NAME + r"(?P<op>[+-])(?P<target>\d+)\s+:?(?P<emoji>[A-Za-z0-9_+\-]+):?\s*$")
CLOCK = re.compile(r"^!clock(?:\s+(?P<sign>[+-])?(?P<amount>\d+)(?P<unit>[mhdw]))?\s*$")
CLOCK_ANY = re.compile(r"^!clock(?:\s+(?P<given>.*?))?\s*$")
CLOCK_FORMS = "+30m, +2h, +1d or +1w (minutes, hours, days, weeks; - goes back)"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def clean(line: str) -> str:
    """An input line without its line ending and control characters."""
    return CONTROL.sub("", line.rstrip("\r\n"))


def author(name: str) -> Author:
    """The member a console name stands for."""
    return Author(ref=MemberRef(PLATFORM, "", name), name=name)


def direct_channel(name: str) -> ChannelRef:
    """The conversation between member `name` and the bot."""
    return ChannelRef(PLATFORM, "", f"dm-{name}")
