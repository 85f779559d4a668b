"""The check-in rules of the clinical brief (R9), day by day and week by week, as a table."""

from datetime import date, timedelta

import pytest

from conversations.progression import CheckIn, decide

TODAY = date(2027, 3, 20)
WEEK_STARTED = TODAY - timedelta(days=6)  # today is the seventh day of the schedule's week
MID_WEEK = TODAY - timedelta(days=2)


def day(offset: int, **answers) -> CheckIn:
    values = {"pain": 1, "settled": True, "morning": "same", "plan_done": "yes", "km": 5} | answers
    return CheckIn(date=TODAY - timedelta(days=offset), **values)


def days(count: int, **answers) -> list[CheckIn]:
    return [day(offset, **answers) for offset in range(1, count + 1)]


@pytest.mark.parametrize(
    ("story", "today", "earlier", "started", "action", "running", "add_load"),
    [
        ("a week with pain 0-2 moves on and adds load", day(0), days(6), WEEK_STARTED,
         "progress", "progress", True),
        ("a week at 4/10 that settles moves on too", day(0, pain=4), days(6, pain=4), WEEK_STARTED,
         "progress", "hold", False),
        ("a week with 5/10 days that settle moves on", day(0, pain=5), days(6, pain=3), WEEK_STARTED,
         "progress", "hold", False),
        ("a missed session holds the week", day(0), [day(3, plan_done="no"), *days(6)[:2], *days(6)[3:]],
         WEEK_STARTED, "hold", "hold", False),
        ("a week with one unsettled day holds", day(0), [day(4, pain=3, settled=False), *days(6)[:3],
         *days(6)[4:]], WEEK_STARTED, "hold", "hold", False),
        ("too few check-ins hold the week", day(0), days(6)[:2], WEEK_STARTED, "hold", "hold", False),
        ("mid-week, a good day holds", day(0), days(3), MID_WEEK, "hold", "hold", False),
        ("mid-week, pain 3-5 that settled holds", day(0, pain=4), days(3), MID_WEEK, "hold", "hold", False),
        ("pain over 5 reduces and stops running", day(0, pain=6), days(6), MID_WEEK, "reduce", "stop", False),
        ("not settled by morning reduces", day(0, pain=3, settled=False), days(6), MID_WEEK,
         "reduce", "reduce", False),
        ("a worse morning reduces, even at the week's end", day(0, morning="worse"), days(6), WEEK_STARTED,
         "reduce", "reduce", False),
        ("no session yesterday and a fine morning counts as a good day", day(0, pain=None, settled=None),
         days(6), WEEK_STARTED, "progress", "progress", True),
    ],
)
def test_checkin_decision(story, today, earlier, started, action, running, add_load):
    decision = decide(today, earlier, started)
    assert (decision.action, decision.running, decision.add_load) == (action, running, add_load), story


@pytest.mark.parametrize(
    ("story", "today", "earlier"),
    [
        ("two bad mornings in a row", day(0, morning="worse"), [day(1, settled=False), *days(6)[1:]]),
        ("three bad mornings in a week", day(0, morning="worse"),
         [day(2, morning="worse"), day(5, settled=False), day(1), day(3)]),
    ],
)
def test_bad_mornings_drop_a_phase_and_bring_a_clinician(story, today, earlier):
    decision = decide(today, earlier, MID_WEEK)
    assert (decision.action, decision.refer) == ("drop_phase", True), story


def test_bad_mornings_more_than_a_week_apart_do_not_add_up():
    earlier = [day(7, morning="worse"), day(9, morning="worse"), day(1)]
    assert decide(day(0, morning="worse"), earlier, MID_WEEK).action == "reduce"


def test_the_week_is_weighed_once_on_its_seventh_day():
    assert decide(day(0), days(6), TODAY - timedelta(days=5)).week_over is False
    assert decide(day(0), days(6), WEEK_STARTED).week_over is True


def test_checkin_of_the_same_day_replaces_the_earlier_one():
    earlier = [day(0, morning="worse"), *days(6)]
    assert decide(day(0), earlier, WEEK_STARTED).action == "progress"
