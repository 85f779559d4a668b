"""Challenge groups as data: invite codes, enrolment, the roster, session reminders, the CSV."""

import csv
import io
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conversations.challenges import (
    Challenge,
    ChallengeFormError,
    admit,
    challenge_from_form,
    csv_export,
    enrol,
    join_waitlist,
    roster_row,
    session_reminders_due,
)
from conversations.messages import render_text

TODAY = date(2027, 4, 1)
LONDON = ZoneInfo("Europe/London")


def challenge(**changes) -> Challenge:
    values = {"code": "c0de", "name": "Spring", "start": date(2027, 4, 5), "weeks": 4, "places": 2,
              "created_by": 1} | changes
    return Challenge.model_validate(values)


def test_invite_codes_carry_at_least_64_bits_and_never_repeat():
    codes = {challenge_from_form("name: A\nstart: 2027-04-05\nweeks: 4", 1, TODAY).code for _ in range(2000)}
    assert len(codes) == 2000
    alphabet = 64  # URL-safe base64
    assert all(len(code) * math.log2(alphabet) >= 64 for code in codes)
    assert all(len(code) <= 64 and code.replace("-", "").replace("_", "").isalnum() for code in codes)
    assert all(code[0].isalnum() for code in codes), "a code the command line could take for an option"


def test_form_fills_defaults_and_reads_sessions():
    made = challenge_from_form(
        "name: Spring Achilles\nstart: 2027-04-05\nweeks: 8\nsession: Wed 18:30 Strength class "
        "https://example.org/m\nsession: sat 9:00 Hill walk",
        admin_id=7, today=TODAY,
    )
    assert made.places == 20 and made.deadline is None and made.created_by == 7
    assert [(s.weekday, s.time, s.title, s.link) for s in made.sessions] == [
        ("wed", "18:30", "Strength class", "https://example.org/m"), ("sat", "09:00", "Hill walk", None)
    ]


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ("name: A\nweeks: 4", "start: this line is missing"),
        ("name: A\nstart: 2027-13-40\nweeks: 4", "start: not a date"),
        ("name: A\nstart: 2027-03-01\nweeks: 4", "start: the start date has passed"),
        ("name: A\nstart: 2027-04-05\nweeks: 0", "weeks: at least 1"),
        ("name: A\nstart: 2027-04-05\nweeks: 4\nplaces: -3", "places: at least 1"),
        ("name: A\nstart: 2027-04-05\nweeks: 4\nsession: Funday 18:30 X", "weekday: not a weekday"),
        ("name: A\nstart: 2027-04-05\nweeks: 4\ndeadline: 2028-01-01", "deadline: it falls after"),
    ],
)
def test_form_problems_are_named(form, problem):
    with pytest.raises(ChallengeFormError) as caught:
        challenge_from_form(form, 1, TODAY)
    shown = render_text("clinic/form_problems.j2", problems=caught.value.problems)
    assert problem in shown, shown


def test_places_run_out_then_waitlist_then_admin_admits():
    group = challenge()
    assert enrol(group, 1, "Ana", TODAY) == "enrolled"
    assert enrol(group, 1, "Ana", TODAY) == "already"
    assert enrol(group, 2, "Ben", TODAY) == "enrolled"
    assert enrol(group, 3, "Cat", TODAY) == "closed"
    assert join_waitlist(group, 3, "Cat", TODAY) and not join_waitlist(group, 3, "Cat", TODAY)
    assert admit(group, 3, TODAY)
    assert group.participant_ids() == [1, 2, 3] and group.waitlist == []


def test_deadline_closes_enrolment():
    group = challenge(deadline=date(2027, 4, 3), places=20)
    assert enrol(group, 1, "Ana", date(2027, 4, 3)) == "enrolled"
    assert enrol(group, 2, "Ben", date(2027, 4, 4)) == "closed"


def rows(days: list[tuple[int, dict]]) -> list[dict]:
    base = {"settled": True, "morning": "same", "plan_done": "yes", "km": 4.0, "decision": "hold", "phase": 2}
    return [base | {"date": (date(2027, 4, 5) + timedelta(days=d)).isoformat()} | extra for d, extra in days]


def test_roster_row_counts_adherence_streak_and_flags():
    group = challenge()
    participant = {"id": 1, "name": "Ana", "joined": "2027-04-01"}
    checkins = rows([(0, {"pain": 2}), (1, {"pain": 3}), (3, {"pain": 4, "morning": "worse"}),
                     (4, {"pain": 5, "settled": False})])
    row = roster_row(group, participant, {"phase": 2, "state": "idle"}, checkins, date(2027, 4, 9))
    assert (row.done, row.due, row.adherence) == (4, 5, 80)
    assert (row.last_pain, row.trend, row.streak) == (5, "worse", 2)
    assert row.flags == ("bad_mornings",)
    silent = roster_row(group, participant, {"phase": 2, "state": "urgent"}, checkins, date(2027, 4, 13))
    assert silent.flags == ("red_flag", "bad_mornings", "silent")


def test_the_day_a_runner_joins_is_no_missed_check_in():
    group = challenge()
    late = {"id": 2, "name": "Ben", "joined": "2027-04-07"}  # after the start
    assert roster_row(group, late, {"phase": 2}, [], date(2027, 4, 7)).due == 0
    assert roster_row(group, late, {"phase": 2}, [], date(2027, 4, 8)).due == 1
    keen = rows([(2, {"pain": 1})])  # checked in on the day they joined
    assert roster_row(group, late, {"phase": 2}, keen, date(2027, 4, 8)).adherence == 50


def test_session_reminders_come_the_day_before_and_an_hour_before_once_each():
    group = challenge(sessions=[{"weekday": "wed", "time": "18:30", "title": "Class"}])
    start = datetime(2027, 4, 7, 17, 30, tzinfo=UTC)  # 18:30 in London (BST)
    assert session_reminders_due(group, LONDON, start - timedelta(days=1, minutes=1)) == []
    [(marker, _, moment)] = session_reminders_due(group, LONDON, start - timedelta(days=1))
    assert moment == start and marker.endswith("day_before")
    group.sent.append(marker)
    assert session_reminders_due(group, LONDON, start - timedelta(days=1) + timedelta(minutes=5)) == []
    [(marker, _, _)] = session_reminders_due(group, LONDON, start - timedelta(minutes=59))
    assert marker.endswith("hour_before")


def test_csv_has_a_header_and_one_row_per_participant_day_with_iso_dates_and_numbers():
    group = challenge()
    people = [
        ({"id": 1, "name": "Ana", "joined": "2027-04-01"}, rows([(0, {"pain": 2}), (2, {"pain": None})]),
         {"2027-04-06": 64}),
        ({"id": 2, "name": "Ben, Jr.", "joined": "2027-04-06"}, rows([(1, {"pain": 6})]), {}),
    ]
    parsed = list(csv.DictReader(io.StringIO(csv_export(group, people, date(2027, 4, 7)))))
    assert [(r["participant_id"], r["date"]) for r in parsed] == [
        ("1", "2027-04-05"), ("1", "2027-04-06"), ("1", "2027-04-07"),
        ("2", "2027-04-06"), ("2", "2027-04-07"),
    ]
    assert all(date.fromisoformat(r["date"]) for r in parsed)
    assert parsed[0]["pain"] == "2" and float(parsed[0]["km"]) == 4.0 and parsed[0]["checked_in"] == "1"
    assert parsed[1]["checked_in"] == "0" and parsed[1]["pain"] == ""
    assert [r["visa_a"] for r in parsed] == ["", "64", "", "", ""]
    assert parsed[3]["name"] == "Ben, Jr." and int(parsed[3]["pain"]) == 6
