"""The daily check-in and what it does to the plan: rule R9 of the clinical brief, day by day.

Each morning the runner reports yesterday's pain, whether it settled, how the morning feels
compared with usual, whether the plan was done and how far they ran. `decide` turns today's
check-in and the days before it into one decision:

- progress: a full week of good days (pain 0-2, settled, mornings not worse): next load block;
- hold: pain 3-5 that settled, or good days short of a full week;
- reduce: pain over 5, not settled, or a worse morning: lighten the next session;
- drop_phase: two bad mornings in a row or three in a week: back one phase, and a clinician.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from conversations.thresholds import THRESHOLDS as T


class CheckIn(BaseModel):
    """One day's check-in, as stored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    date: date
    pain: int | None = Field(default=None, ge=0, le=10)  # during yesterday's session or run
    settled: bool | None = None  # by this morning; None when there was nothing to settle
    morning: Literal["better", "same", "worse"] = "same"  # stiffness compared with usual
    plan_done: Literal["yes", "partly", "no"] = "yes"
    km: float = Field(default=0, ge=0)

    @property
    def bad_morning(self) -> bool:
        return self.morning == "worse" or self.settled is False

    @property
    def too_much(self) -> bool:
        return (self.pain or 0) > T.acceptable_pain or self.bad_morning

    @property
    def good(self) -> bool:
        return (self.pain or 0) <= T.safe_pain and not self.bad_morning


@dataclass(frozen=True)
class Decision:
    action: Literal["progress", "hold", "reduce", "drop_phase"]
    why: str  # picks the sentence in templates/checkin/decision.j2
    running: Literal["stop", "reduce", "hold", "progress"]
    refer: bool = False


def decide(today: CheckIn, earlier: list[CheckIn], last_progress: date | None = None) -> Decision:
    """Today's decision from today's check-in and the earlier ones (any order, any length)."""
    week_start = today.date - timedelta(days=T.good_days_to_progress - 1)
    by_day = {c.date: c for c in earlier if week_start <= c.date < today.date}
    by_day[today.date] = today
    week = list(by_day.values())

    yesterday = by_day.get(today.date - timedelta(days=1))
    bad_in_a_row = today.bad_morning and yesterday is not None and yesterday.bad_morning
    bad_in_week = sum(c.bad_morning for c in week) >= T.bad_mornings_in_a_week
    if bad_in_a_row or bad_in_week:
        why = "bad_mornings_in_a_row" if bad_in_a_row else "bad_mornings_in_a_week"
        return Decision("drop_phase", why, running_after(today), refer=True)
    if today.too_much:
        return Decision("reduce", reduce_reason(today), running_after(today))
    if (today.pain or 0) > T.safe_pain:
        return Decision("hold", "acceptable_pain", "hold")
    full_good_week = len(week) == T.good_days_to_progress and all(c.good for c in week)
    progressed_recently = last_progress is not None and (today.date - last_progress).days < 7
    if full_good_week and not progressed_recently:
        return Decision("progress", "good_week", "progress")
    return Decision("hold", "building_a_good_week", "hold")


def reduce_reason(today: CheckIn) -> str:
    if (today.pain or 0) > T.acceptable_pain:
        return "too_much_pain"
    if today.settled is False:
        return "not_settled"
    return "morning_worse"


def running_after(today: CheckIn) -> Literal["stop", "reduce"]:
    """Pain over 5 during a run: stop or cut hard; otherwise cut back."""
    return "stop" if (today.pain or 0) > T.acceptable_pain else "reduce"
