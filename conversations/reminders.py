"""When each runner's messages are due, in their own time zone, across daylight-saving changes.

A schedule is a small dict kept in storage's shared index (so start-up never opens every
runner's file): {"time": "HH:MM", "timezone": IANA name, "active": bool, "snooze_until": ISO
or None}. Everything here is a pure function of a schedule and a clock reading.

Kinds of scheduled message:
- "reminder": the daily plan at the runner's time; one per local day, and a reminder missed
  while the bot was down is still sent if within `CATCH_UP` of its time;
- "snoozed": the same reminder an hour later, once;
- "summary": Sunday evening, the week in review.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

CATCH_UP = timedelta(hours=2)
SNOOZE = timedelta(hours=1)
SUMMARY_WEEKDAY = 6  # Sunday
SUMMARY_TIME = time(19, 0)
DEFAULT_TIME = "07:30"
DEFAULT_STRENGTH_DAYS = ("mon", "wed", "fri")


def folded(text: str) -> str:
    """Typed text as it is compared: case and accents dropped ("Sí" -> "si", "años" -> "anos"),
    spaces single, and punctuation or symbols at either end dropped ("¿sí?" -> "si"), except a
    sign or point before a digit ("-5" and ".5" stay what they are). Linear in the text."""
    text = text.casefold()
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = " ".join(text.split())
    start, end = 0, len(text)
    while end > start and not text[end - 1].isalnum():
        end -= 1
    while start < end and not text[start].isalnum() and not (
        text[start] in "-+.," and text[start + 1].isdigit()
    ):
        start += 1
    return text[start:end]


# A time of day as runners write it in English or Spanish, read after `folded`: "7:30", "07.30",
# "19h05", "7", "7 pm", "7:30 a.m.", "19 hrs", "a las 7 de la mañana", "7 y media de la tarde".
# Linear: single spaces only, and no two parts can take the same characters.
TIME = re.compile(
    r"(?:(?:at|a las|a la) )?(\d{1,2})(?: ?[:.h] ?(\d\d)| y (media|cuarto))?"
    r"(?: ?(?:(h|hs|hrs?|horas?)|(am|a\.? ?m)|(pm|p\.? ?m)|de la (manana|madrugada|tarde|noche)))?"
)
QUARTERS = {"media": 30, "cuarto": 15}
WORD_TIMES = {"noon": "12:00", "midday": "12:00", "mediodia": "12:00", "medio dia": "12:00",
              "midnight": "00:00", "medianoche": "00:00"}
LONGEST_TIME = 40  # characters: anything longer is a sentence, not a time


def parse_time(text: str) -> str | None:
    """'7:30', '07.30', '19h05', '7 pm', '7 de la mañana', 'noon' -> 'HH:MM'; None if it is not a
    time of day ('25:00', '7:75', '13 pm')."""
    typed = folded(text)
    if typed in WORD_TIMES:
        return WORD_TIMES[typed]
    match = TIME.fullmatch(typed) if len(typed) <= LONGEST_TIME else None
    if not match:
        return None
    hour, minutes, quarter, _clock, am, pm, half = match.groups()
    hour = _on_the_24_hour_clock(int(hour), "am" if am else "pm" if pm else half)
    minute = QUARTERS[quarter] if quarter else int(minutes or 0)
    if hour is None or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def _on_the_24_hour_clock(hour: int, half: str | None) -> int | None:
    """An hour said with the half of the day it is in (None: already on the 24-hour clock)."""
    if half is None:
        return hour if hour <= 23 else None
    if not 1 <= hour <= 12:
        return None  # "13 pm", "0 am"
    if half in ("am", "madrugada"):
        return hour % 12  # 12 am is midnight
    if half == "manana":
        return hour  # "las 12 de la mañana" is noon
    if half == "noche" and (hour <= 5 or hour == 12):
        return hour % 12  # "12 de la noche" is midnight, "2 de la noche" the small hours
    return hour % 12 + 12  # pm, tarde, noche


# What runners call the zones they live in, where the zone's own name (found by `zone_names`,
# accents aside: "bogotá", "los ángeles", "guatemala", "madrid") is not what they type. Folded.
ZONE_ALIASES = {
    "America/Los_Angeles": ("pasadena", "pacific", "pacific time", "hora del pacifico"),
    "America/Denver": ("mountain", "mountain time", "hora de la montana"),
    "America/Chicago": ("central", "central time", "hora del centro"),
    "America/New_York": ("eastern", "eastern time", "hora del este", "nueva york"),
    "America/Mexico_City": ("mexico", "ciudad de mexico", "cdmx"),
    "America/El_Salvador": ("san salvador",),
    "America/Tegucigalpa": ("honduras",),
    "America/Managua": ("nicaragua",),
    "America/Bogota": ("colombia",),
    "Europe/Madrid": ("espana",),
    "Europe/London": ("londres",),
    "Australia/Sydney": ("sidney",),
}
LONGEST_ZONE = 40  # characters: the longest zone name has 32
ZONE_BY_ALIAS = {alias: zone for zone, aliases in ZONE_ALIASES.items() for alias in aliases}
ZONE_WORDS = (r"^(?:hora|horario|tiempo) (?:de |del |en )?", r" time$")  # "hora de madrid", "london time"


def find_zone(name: str) -> str | None:
    """An IANA zone from what a runner typed, forgiving case, accents and spaces ('new york',
    'Bogotá'), or a name of ZONE_ALIASES ('hora del pacífico', 'cdmx')."""
    wanted = folded(name)
    if not wanted or len(wanted) > LONGEST_ZONE:
        return None
    candidates = [wanted, *(re.sub(words, "", wanted) for words in ZONE_WORDS)]
    for candidate in candidates:
        zone = ZONE_BY_ALIAS.get(candidate) or zone_names().get(candidate.replace(" ", "_"))
        if zone:
            return zone
    return None


@cache
def zone_names() -> dict[str, str]:
    """Every zone by its folded full name and by the end of it ('america/new_york', 'new_york',
    'indiana/knox'): built once, not on every message. A full name wins over an ending."""
    zones = sorted(available_timezones())
    names = {zone.casefold(): zone for zone in zones}
    for zone in zones:
        parts = zone.casefold().split("/")
        for start in range(1, len(parts)):
            names.setdefault("/".join(parts[start:]), zone)
    return names


def zone_of(schedule: dict) -> ZoneInfo:
    try:
        return ZoneInfo(schedule["timezone"])
    except (ZoneInfoNotFoundError, KeyError, ValueError):
        return ZoneInfo("UTC")


def local_today(schedule: dict, now: datetime) -> date:
    return now.astimezone(zone_of(schedule)).date()


def at_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) when the wall clock in `zone` shows `clock` on `day`.

    zoneinfo's fold=0 rule settles the two odd cases: a time that happens twice (autumn) is
    the first one; a time skipped in spring (02:30) is read with the old offset, so the
    reminder comes just after the jump (03:30) that one day.
    """
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def reminder_time(schedule: dict) -> time:
    hours, minutes = (schedule.get("time") or DEFAULT_TIME).split(":")
    return time(int(hours), int(minutes))


def reminder_at(schedule: dict, day: date) -> datetime:
    return at_local(day, reminder_time(schedule), zone_of(schedule))


def reminder_due(schedule: dict, now: datetime, last_sent_on: str | None) -> bool:
    """Is today's reminder due now (and not yet sent on this local day)?"""
    if not schedule.get("active", True):
        return False
    today = local_today(schedule, now)
    if last_sent_on == today.isoformat():
        return False
    scheduled = reminder_at(schedule, today)
    return scheduled <= now < scheduled + CATCH_UP


def snooze_due(schedule: dict, now: datetime) -> bool:
    until = schedule.get("snooze_until")
    return bool(schedule.get("active", True) and until and datetime.fromisoformat(until) <= now)


def summary_due(schedule: dict, now: datetime, last_summary_on: str | None) -> bool:
    """Sunday evening, once per local Sunday, within the catch-up window."""
    if not schedule.get("active", True):
        return False
    today = local_today(schedule, now)
    if today.weekday() != SUMMARY_WEEKDAY or last_summary_on == today.isoformat():
        return False
    scheduled = at_local(today, SUMMARY_TIME, zone_of(schedule))
    return scheduled <= now < scheduled + CATCH_UP


def next_wakeup(schedule: dict, after: datetime) -> datetime:
    """The next instant after `after` at which anything may fall due for this runner."""
    zone = zone_of(schedule)
    today = after.astimezone(zone).date()
    candidates = []
    for offset in range(0, 8):
        day = today + timedelta(days=offset)
        candidates.append(reminder_at(schedule, day))
        if day.weekday() == SUMMARY_WEEKDAY:
            candidates.append(at_local(day, SUMMARY_TIME, zone))
    if schedule.get("snooze_until"):
        candidates.append(datetime.fromisoformat(schedule["snooze_until"]))
    return min(moment for moment in candidates if moment > after)
