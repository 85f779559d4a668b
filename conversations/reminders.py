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
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

CATCH_UP = timedelta(hours=2)
SNOOZE = timedelta(hours=1)
SUMMARY_WEEKDAY = 6  # Sunday
SUMMARY_TIME = time(19, 0)
DEFAULT_TIME = "07:30"
DEFAULT_STRENGTH_DAYS = ("mon", "wed", "fri")
HHMM = re.compile(r"^\s*([01]?\d|2[0-3])\s*[:.h]\s*([0-5]\d)\s*$")


def parse_time(text: str) -> str | None:
    """'7:30', '07.30', '19h05' -> 'HH:MM'; None if it is not a time of day."""
    match = HHMM.match(text)
    return f"{int(match.group(1)):02d}:{match.group(2)}" if match else None


def find_zone(name: str) -> str | None:
    """An IANA zone from what a runner typed, forgiving case and spaces ('new york')."""
    wanted = name.strip().replace(" ", "_").casefold()
    return zone_names().get(wanted) if wanted else None


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
