"""Reading the times facilitators type: dates ("next thursday 5pm", "tomorrow 18:30",
"2026-12-03 17:00", "3 dec 17:00"), durations ("60m", "1h30m") and recurrences.

Dates are read as wall times in a zone and returned as naive local datetimes; the caller
attaches the zone (so a series keeps its wall time across DST).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from bot.core.i18n import Catalog
from bot.core.markup import escape

EXAMPLES = '"2026-12-03 17:00", "tomorrow 18:30", "next thursday 5pm" or "3 dec 17:00"'


class WhenError(ValueError):
    """A date, time, duration or recurrence cannot be read; the message shows valid forms."""


_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}
_MONTHS = {
    name: index
    for index, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}
_TIME = re.compile(
    r"^(?:(?P<h24>\d{1,2})[:.h](?P<m24>\d{2})"
    r"|(?P<h12>\d{1,2})(?::(?P<m12>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)"
    r"|(?P<word>noon|midday|midnight))$"
)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
_IN = re.compile(r"^in\s+(\d{1,3})\s*(minutes?|mins?|m|hours?|h|days?|d|weeks?|w)$")


def parse_time_of_day(text: str) -> time:
    """Read "17:00", "5pm", "5:30 pm", "17h30" or "noon"; raise `WhenError`."""
    match = _TIME.match(text.strip().lower())
    if match is None:
        raise WhenError(f'{text!r} is not a time of day; write "17:00" or "5pm"')
    if match.group("word"):
        return time(0, 0) if match.group("word") == "midnight" else time(12, 0)
    if match.group("h24") is not None:
        hour, minute = int(match.group("h24")), int(match.group("m24"))
    else:
        hour, minute = int(match.group("h12")), int(match.group("m12") or 0)
        if not 1 <= hour <= 12:
            raise WhenError(f"{text!r}: with am/pm the hour is 1 to 12")
        pm = match.group("ampm").startswith("p")
        hour = hour % 12 + (12 if pm else 0)
    if hour > 23 or minute > 59:
        raise WhenError(f"{text!r} is not a time of day; hours go to 23, minutes to 59")
    return time(hour, minute)


def _split_time(words: list[str]) -> tuple[list[str], time | None]:
    """Take a trailing time (possibly "5 pm", possibly after "at") off the words."""
    if not words:
        return words, None
    for size in (2, 1):
        if len(words) >= size:
            candidate = " ".join(words[-size:])
            try:
                found = parse_time_of_day(candidate)
            except WhenError:
                continue
            rest = words[:-size]
            if rest and rest[-1] == "at":
                rest = rest[:-1]
            return rest, found
    return words, None


def _next_weekday(today: date, weekday: int, *, strictly_after: bool) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and strictly_after:
        ahead = 7
    return today + timedelta(days=ahead)


def parse_when(text: str, now_local: datetime) -> datetime:
    """A typed date and time, as a naive wall time in `now_local`'s zone; raise `WhenError`.

    A date without a time, or a time without a date, is refused: a live session needs both.
    A bare weekday or day-and-month means the next one (today counts when the time is still
    ahead); "next <weekday>" always means a later day than today.
    """
    cleaned = " ".join(text.strip().lower().replace(",", " ").split())
    if not cleaned:
        raise WhenError(f"no date given; write {EXAMPLES}")
    now = now_local.replace(tzinfo=None, second=0, microsecond=0)
    today = now.date()
    relative = _IN.match(cleaned)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)[0]
        step = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]
        return now + timedelta(**{step: amount})
    cleaned = cleaned.replace("t", " ", 1) if re.match(r"^\d{4}-\d\d?-\d\d?t", cleaned) else cleaned
    words, at = _split_time(cleaned.split())
    if at is None:
        raise WhenError(f"{text!r} has no time of day; write {EXAMPLES}")
    day: date | None = None
    if not words or words == ["today"]:
        day = today
    elif words == ["tomorrow"]:
        day = today + timedelta(days=1)
    elif len(words) == 1 and (iso := _ISO.match(words[0])):
        try:
            day = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            raise WhenError(f"{words[0]!r} is not a date in the calendar") from None
    elif len(words) in (1, 2) and words[-1] in _WEEKDAYS and words[0] in ("next", words[-1]):
        weekday = _WEEKDAYS[words[-1]]
        strictly = words[0] == "next" or datetime.combine(today, at) <= now
        day = _next_weekday(today, weekday, strictly_after=strictly)
    else:
        day = _day_and_month(words, today, at, now)
    if day is None:
        raise WhenError(f"{text!r} is not a date I can read; write {EXAMPLES}")
    return datetime.combine(day, at)


def _day_and_month(words: list[str], today: date, at: time, now: datetime) -> date | None:
    """ "3 dec", "dec 3", "3 december 2026", "december 3rd 2026"."""
    year: int | None = None
    if len(words) == 3 and words[2].isdigit() and len(words[2]) == 4:
        year = int(words[2])
        words = words[:2]
    if len(words) != 2:
        return None
    first, second = words
    if first in _MONTHS and (match := _DAY_MONTH.match(second)):
        month, day_number = _MONTHS[first], int(match.group(1))
    elif second in _MONTHS and (match := _DAY_MONTH.match(first)):
        month, day_number = _MONTHS[second], int(match.group(1))
    else:
        return None
    candidates = [year] if year is not None else [today.year, today.year + 1]
    for candidate in candidates:
        try:
            found = date(candidate, month, day_number)
        except ValueError:
            raise WhenError(
                f"{day_number} {first if first in _MONTHS else second} does not exist"
            ) from None
        if year is not None or datetime.combine(found, at) > now:
            return found
    return None


_DURATION = re.compile(r"^(?:(?P<h>\d{1,2})\s*h)?\s*(?:(?P<m>\d{1,4})\s*(?:m|min|mins|minutes)?)?$")


def parse_duration(text: str) -> timedelta:
    """Read "60m", "90", "1h", "1h30m" or "1:30"; 5 minutes to 24 hours; raise `WhenError`."""
    cleaned = text.strip().lower().replace(" ", "")
    if (clock := re.fullmatch(r"(\d{1,2}):(\d{2})", cleaned)) is not None:
        minutes = int(clock.group(1)) * 60 + int(clock.group(2))
    else:
        match = _DURATION.match(cleaned)
        if not cleaned or match is None or (match.group("h") is None and match.group("m") is None):
            raise WhenError(f'{text!r} is not a duration; write "60m", "1h" or "1h30m"')
        minutes = int(match.group("h") or 0) * 60 + int(match.group("m") or 0)
    if not 5 <= minutes <= 24 * 60:
        raise WhenError(f"{text!r}: a session lasts from 5 minutes to 24 hours")
    return timedelta(minutes=minutes)


def format_duration(minutes: int) -> str:
    """60 -> "1h", 90 -> "1h30m", 45 -> "45m"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}m"
    return f"{hours}h{rest:02d}m" if rest else f"{hours}h"


RECURRENCES = {
    "weekly": "FREQ=WEEKLY",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "fortnightly": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "FREQ=MONTHLY",
}


def normalise_recurrence(text: str | None) -> str | None:
    """ "weekly", "biweekly", "monthly" or an RFC 5545 RRULE, as an RRULE; raise `WhenError`."""
    if text is None or not text.strip() or text.strip().lower() in ("none", "no", "once"):
        return None
    cleaned = text.strip()
    if cleaned.lower() in RECURRENCES:
        return RECURRENCES[cleaned.lower()]
    rule = cleaned.removeprefix("RRULE:").removeprefix("rrule:").upper()
    if "FREQ=" not in rule:
        raise WhenError(
            f"{text!r} is not a repeat; write weekly, biweekly, monthly or an RRULE such as "
            '"FREQ=WEEKLY;BYDAY=TU,TH"'
        )
    # Occurrences are expanded in local wall time, so UNTIL is read as a wall time too.
    rule = re.sub(r"(UNTIL=\d{8}(?:T\d{6})?)Z", r"\1", rule)
    if re.search(r"FREQ=(SECONDLY|MINUTELY|HOURLY)", rule):
        raise WhenError(
            f"{text!r} repeats more often than daily; live sessions repeat at most daily"
        )
    if re.search(r"(?:^|;)COUNT=", rule) and re.search(r"(?:^|;)UNTIL=", rule):
        raise WhenError(f"{text!r}: give COUNT or UNTIL, not both")
    for part in ("COUNT", "INTERVAL"):
        found = re.search(rf"(?:^|;){part}=(-?\d+)", rule)
        if found is not None and int(found.group(1)) < 1:
            raise WhenError(f"{text!r}: {part} must be at least 1")
    # Check that it ever fires, within five years (an impossible rule such as the 30th of
    # February would otherwise be walked to the year 9999 on every look-up).
    bounded = ";".join(
        piece for piece in rule.split(";") if not piece.startswith(("COUNT=", "UNTIL="))
    )
    from dateutil.rrule import rrulestr  # imported on first use: it slows every start

    start = datetime(2026, 1, 1)
    try:
        rrulestr(rule, dtstart=start)
        first = rrulestr(f"{bounded};UNTIL=20310101T000000", dtstart=start).after(start, inc=True)
    except (ValueError, TypeError) as error:
        raise WhenError(f"{text!r} is not a valid RRULE ({error})") from None
    if first is None:
        raise WhenError(f"{text!r} never happens; check its BYMONTH/BYMONTHDAY/BYDAY parts")
    return rule


def describe_recurrence(rule: str | None) -> str:
    """Words for a stored recurrence: "weekly", "every 2 weeks", or the RRULE itself."""
    if rule is None:
        return "once"
    named = {value: key for key, value in RECURRENCES.items() if key != "fortnightly"}
    return named.get(rule, rule)


def first_wall(rule: str, wall: datetime) -> datetime | None:
    """The rule's first wall time at or after `wall` (its DTSTART), within five years."""
    from dateutil.rrule import rrulestr

    found: datetime | None = rrulestr(rule, dtstart=wall).after(wall, inc=True)
    if found is None or found > wall + timedelta(days=5 * 366):
        return None
    return found


_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):(?=\S)", re.IGNORECASE)
_HOST_PATH = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?(/\S*)?$", re.IGNORECASE)
PLACE_RULE = (
    "a place is an http(s) address (meet.example.org/x is read as https) "
    'or plain text such as "Room 3"; other kinds of address are not accepted'
)


def read_place(text: str) -> str:
    """A session's place: an http(s) address, or plain text; raise `WhenError` otherwise."""
    text = text.strip()
    web = is_address(text)
    scheme = _SCHEME.match(text)
    if scheme is not None and not web and not _HOST_PATH.match(text):  # host:port/path is fine
        raise WhenError(f"where cannot be a {scheme.group(1).lower()}: address; {PLACE_RULE}")
    if web:
        if " " in text or len(text.split("://", 1)[1]) == 0:
            raise WhenError(f"where is not a whole address; {PLACE_RULE}")
        return text
    if " " not in text and _HOST_PATH.match(text):
        return "https://" + text
    return text


def is_address(place: str) -> bool:
    """True when a stored place is an http(s) address (shown as a link), not plain text."""
    return place.lower().startswith(("http://", "https://"))


def place_line(t: Catalog, place: str | None) -> str:
    """Where a session happens, for those going: a link to join, or the place as text."""
    if not place:
        return ""
    if is_address(place):
        return t("gatherings.link_line", url=escape(place))
    return t("gatherings.place_line", place=escape(place))
