"""The check-in rules of the clinical brief (R9), as a table."""

from datetime import date, timedelta

import pytest

from conversations.progression import CheckIn, decide

TODAY = date(2027, 3, 20)


def day(offset: int, **answers) -> CheckIn:
    values = {"pain": 1, "settled": True, "morning": "same", "plan_done": "yes", "km": 5} | answers
    return CheckIn(date=TODAY - timedelta(days=offset), **values)


def good_days(count: int) -> list[CheckIn]:
    return [day(offset) for offset in range(1, count + 1)]


@pytest.mark.parametrize(
    ("story", "today", "earlier", "action", "running", "refer"),
    [
        ("a full week with pain 0-2 progresses", day(0), good_days(6), "progress", "progress", False),
        ("good days short of a week hold", day(0), good_days(3), "hold", "hold", False),
        ("pain 3-5 that settled holds", day(0, pain=4), good_days(6), "hold", "hold", False),
        ("pain 5 is still acceptable", day(0, pain=5), good_days(6), "hold", "hold", False),
        ("pain over 5 reduces and stops running", day(0, pain=6), good_days(6), "reduce", "stop", False),
        ("not settled by morning reduces", day(0, pain=3, settled=False), good_days(6),
         "reduce", "reduce", False),
        ("a worse morning reduces", day(0, morning="worse"), good_days(6), "reduce", "reduce", False),
        ("two bad mornings in a row drop a phase", day(0, morning="worse"),
         [day(1, settled=False), *good_days(5)[1:]], "drop_phase", "reduce", True),
        ("three bad mornings in a week drop a phase", day(0, morning="worse"),
         [day(2, morning="worse"), day(5, settled=False), day(1), day(3)], "drop_phase", "reduce", True),
        ("bad mornings more than a week apart do not add up", day(0, morning="worse"),
         [day(7, morning="worse"), day(9, morning="worse"), day(1)], "reduce", "reduce", False),
        ("no session yesterday and a fine morning is a good day", day(0, pain=None, settled=None),
         good_days(6), "progress", "progress", False),
        ("a week with one pain-4 day holds", day(0), [*good_days(6)[:2], day(3, pain=4), *good_days(6)[3:]],
         "hold", "hold", False),
    ],
)
def test_checkin_decision(story, today, earlier, action, running, refer):
    decision = decide(today, earlier)
    assert (decision.action, decision.running, decision.refer) == (action, running, refer), story


def test_progress_waits_a_week_after_the_last_step_up():
    assert decide(day(0), good_days(6), last_progress=TODAY - timedelta(days=3)).action == "hold"
    assert decide(day(0), good_days(6), last_progress=TODAY - timedelta(days=7)).action == "progress"


def test_checkin_of_the_same_day_replaces_the_earlier_one():
    earlier = [day(0, morning="worse"), *good_days(6)]
    assert decide(day(0), earlier).action == "progress"
