"""Back to running after a stop, then building it up: the brief's "Return to running (walk-run)".

A runner's running is at one of three stages (kept in their record as `comeback`):

- "off": running has stopped (a run over 5/10, or not running at all); brisk walking is asked
  about each morning;
- "ladder": the walk-run ladder of the protocol, a session every other day, a rung repeated until
  a session stays within the pain-monitoring limits and settles, one rung back after a bad day;
- "running": running under the running rules: volume before intensity, about 10% more a week,
  no run more than 10% longer than the longest of the last 30 days (R12 on the daily distances).

Pure functions of the protocol's numbers and the check-in history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from conversations.progression import CheckIn
from conversations.protocol import Running, WalkRun
from conversations.thresholds import THRESHOLDS as T

LOOK_BACK = timedelta(days=30)  # "the longest of the last 30 days"


def ready_for_the_ladder(walk_pain: int | None, reps: int, raise_pain: int, rules: WalkRun) -> bool:
    """Brisk walking pain-free and the heel raises strong enough (the ladder's entry)."""
    return (walk_pain is not None and walk_pain <= rules.walk_pain_at_most
            and reps >= rules.raises_at_least and raise_pain < rules.raise_pain_under)


@dataclass(frozen=True)
class Step:
    rung: int  # index into the protocol's rungs; len(rungs) once the ladder is climbed
    why: str  # "up", "again", "back", "not_done" or "climbed"


def climb(rung: int, checkin: CheckIn, rules: WalkRun) -> Step:
    """The rung for the next session, from how yesterday's walk-run went."""
    if not checkin.walk_run:
        return Step(rung, "not_done")
    if (checkin.walk_run_pain or 0) > T.acceptable_pain or checkin.settled is False:
        return Step(max(0, rung - 1), "back")
    if rung + 1 >= len(rules.rungs):
        return Step(len(rules.rungs), "climbed")
    return Step(rung + 1, "up")


def session_due(last_session: str | None, today: date, rules: WalkRun) -> bool:
    """Every other day: a walk-run is due when the last one was long enough ago."""
    return last_session is None or (today - date.fromisoformat(last_session)).days >= rules.days_between


@dataclass(frozen=True)
class Build:
    """Where a running runner stands this week."""

    last_week_km: float
    weekly_target_km: float | None  # None: no running last week to build on
    longest_km: float  # the longest run of the last 30 days
    single_run_cap_km: float | None


def build(checkins: list[CheckIn], today: date, rules: Running) -> Build:
    week = [c.km for c in checkins if today - timedelta(days=7) <= c.date < today]
    recent = [c.km for c in checkins if today - LOOK_BACK <= c.date < today]
    last_week = round(sum(week), 1)
    longest = max(recent, default=0)
    return Build(last_week, more(last_week, rules.weekly_increase_percent), longest,
                 more(longest, rules.single_run_increase_percent))


def more(km: float, percent: int) -> float | None:
    """`km` and `percent` more, or None when there is nothing to build on."""
    return round(km * (1 + percent / 100), 1) if km else None


def run_too_long(checkin: CheckIn, earlier: list[CheckIn], rules: Running) -> bool:
    """R12 on the daily distances: a run more than 10% longer than the longest of 30 days."""
    cap = build(earlier, checkin.date, rules).single_run_cap_km
    return cap is not None and checkin.km > cap
