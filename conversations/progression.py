"""The daily check-in and what it does to the plan: rule R9 of the clinical brief, day by day
and week by week.

Each morning the runner reports yesterday's pain, whether it settled, how the morning feels
compared with usual, whether the plan was done and how far they ran. `decide` turns today's
check-in and the days before it into one decision:

- drop_phase: two bad mornings in a row or three in a week: back one phase, and a clinician;
- reduce: pain over 5, not settled, or a worse morning: lighten the next session;
- at the end of each week of the load schedule: progress to the next week (the next load block
  when the rep count changes) if every session stayed within 0-5/10, settled, with mornings not
  worse and no session missed; with pain 0-2 all week, add load within the block too. Otherwise
  hold: the same week again (holding a runner at 3-4/10 for months would be wrong, so 3-5 that
  settles does progress);
- hold, any other day.
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
    walk_pain: int | None = Field(default=None, ge=0, le=10)  # brisk walking, while running is off
    walk_run: bool | None = None  # did yesterday's walk-run (None: not a walk-run day)
    walk_run_pain: int | None = Field(default=None, ge=0, le=10)

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
    add_load: bool = False  # pain 0-2 all week: a little heavier within the block as well
    week_over: bool = False  # the week of the load schedule was weighed today


def decide(today: CheckIn, earlier: list[CheckIn], week_started: date) -> Decision:
    """Today's decision from today's check-in and the earlier ones (any order, any length).

    `week_started` is the first day of the current week of the load schedule: on its seventh
    day the week is weighed.
    """
    by_day = {c.date: c for c in earlier if c.date < today.date}
    by_day[today.date] = today
    last_seven = [c for day, c in by_day.items() if today.date - day < timedelta(days=7)]

    yesterday = by_day.get(today.date - timedelta(days=1))
    bad_in_a_row = today.bad_morning and yesterday is not None and yesterday.bad_morning
    bad_in_week = sum(c.bad_morning for c in last_seven) >= T.bad_mornings_in_a_week
    if bad_in_a_row or bad_in_week:
        why = "bad_mornings_in_a_row" if bad_in_a_row else "bad_mornings_in_a_week"
        return Decision("drop_phase", why, running_after(today), refer=True)
    if today.too_much:
        return Decision("reduce", reduce_reason(today), running_after(today))
    if today.date - week_started >= timedelta(days=6):
        week = [c for day, c in by_day.items() if week_started <= day <= today.date]
        return weigh_the_week(week)
    if (today.pain or 0) > T.safe_pain:
        return Decision("hold", "acceptable_pain", "hold")
    return Decision("hold", "building_a_good_week", "hold")


def weigh_the_week(week: list[CheckIn]) -> Decision:
    """The brief's weekly step: 0-5/10 that settles, mornings stable, no session missed."""
    if any(c.plan_done == "no" for c in week):
        return Decision("hold", "missed_session", "hold", week_over=True)
    if len(week) < T.checkins_for_a_week:
        return Decision("hold", "too_few_checkins", "hold", week_over=True)
    if any(c.too_much for c in week):
        return Decision("hold", "unsettled_week", "hold", week_over=True)
    easy = all((c.pain or 0) <= T.safe_pain for c in week)
    return Decision("progress", "easy_week" if easy else "good_week", "progress" if easy else "hold",
                    add_load=easy, week_over=True)
def reduce_reason(today: CheckIn) -> str:
    if (today.pain or 0) > T.acceptable_pain:
        return "too_much_pain"
    if today.settled is False:
        return "not_settled"
    return "morning_worse"


def running_after(today: CheckIn) -> Literal["stop", "reduce"]:
    """Pain over 5 during a run: stop or cut hard; otherwise cut back."""
    return "stop" if (today.pain or 0) > T.acceptable_pain else "reduce"
