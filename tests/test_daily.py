"""The daily loop through the engine: check-ins that move the plan, retests, reminder buttons."""

from datetime import UTC, datetime, timedelta

import pytest

from conversations.clinic import load_clinic
from conversations.daily import reminder_screen
from conversations.engine import Engine
from conversations.messages import render_reply
from conversations.protocol import default_protocol
from conversations.replies import Event
from conversations.turn import Turn
from storage import open_store
from tests.clock import Clock
from tests.runner_script import REMINDER_SETUP, TYPICAL_RUNNER
from tests.test_conversation import Phone

RUNNER = 77


@pytest.fixture
def clock():
    return Clock(datetime(2027, 3, 1, 8, tzinfo=UTC))  # a Monday morning in London


@pytest.fixture
def phone(tmp_path, clock):
    coach = Engine(open_store(tmp_path / "data"), load_clinic(), default_protocol(), clock)
    phone = Phone(coach, RUNNER)
    phone.command("start")
    phone.tap("I understand and agree")
    phone.follow(TYPICAL_RUNNER + REMINDER_SETUP)
    return phone


def check_in(phone: Phone, pain="2", settled="Yes, settled", morning="Same as usual", km="5 km",
             done="Yes, all", walk="1", walk_run="It wasn't", walk_run_pain="2"):
    phone.command("checkin")
    phone.tap(pain)
    if settled:
        phone.tap(settled)
    phone.tap(morning)
    phone.tap(done)
    running_questions(phone, km=km, walk=walk, walk_run=walk_run, walk_run_pain=walk_run_pain)


def running_questions(phone: Phone, *, km="5 km", walk="1", walk_run="It wasn't", walk_run_pain="2"):
    """The check-in's last questions depend on where running stands: answer whichever come."""
    answers = {"how long": None, "walked briskly": walk, "walk-run session?": walk_run,
               "during the walk-run": walk_run_pain, "kilometres": km, "overstride": "No"}
    while phone.coach.store.load(phone.runner_id)["state"].startswith("checkin_"):
        question = phone.screens[-1].html
        phone.tap(next(answer for words, answer in answers.items() if answer and words in question))


def next_morning(clock: Clock) -> None:
    clock.advance(timedelta(days=1))


def record(phone: Phone) -> dict:
    return phone.coach.store.load(RUNNER)


def test_a_good_check_in_holds_and_shows_todays_plan(phone):
    check_in(phone)
    assert "Hold steady" in phone.text and "Strength day" in phone.text
    rows = phone.coach.store.checkins(RUNNER)
    assert (rows[-1]["pain"], rows[-1]["decision"], rows[-1]["date"]) == (2, "hold", "2027-03-01")
    phone.command("checkin")
    assert "already checked in today" in phone.text


def test_a_week_of_good_days_moves_the_strength_block_on(phone, clock):
    for _ in range(7):
        check_in(phone)
        next_morning(clock)
    assert record(phone)["load_week"] == 2
    seen = [s.html for s in phone.screens]
    assert sum("step up" in html for html in seen) == 1
    clock.moment = datetime(2027, 3, 15, 8, tzinfo=UTC)  # a Monday: a strength day
    phone.command("today")
    assert "3 x 12" in phone.text


def test_too_much_pain_makes_the_next_session_lighter_and_stops_running(phone):
    check_in(phone, pain="7", settled="No, still sore")
    assert "Lighter today" in phone.text and "running pauses" in phone.text
    assert "3 x 15" not in phone.text and "2 x 15" in phone.text
    assert "No running for now" in phone.text


def test_two_bad_mornings_in_a_row_drop_a_phase_and_offer_a_clinician(phone, clock):
    check_in(phone, morning="Worse than usual")
    next_morning(clock)
    check_in(phone, pain="4", settled="No, still sore", morning="Worse than usual")
    assert "Back to phase 1, Calm" in phone.text and "+44 20 7946 0000" in phone.text
    assert record(phone)["phase"] == 1
    assert phone.button("Talk to a clinician")
    assert phone.coach.store.checkins(RUNNER)[-1]["decision"] == "drop_phase"


def test_retest_after_two_weeks_opens_the_spring_phase_when_the_gates_are_met(phone, clock):
    for _ in range(14):
        check_in(phone, pain="1")
        next_morning(clock)
    check_in(phone, pain="1")
    assert "time for a quick retest" in phone.text
    phone.say("28")
    phone.say("30")
    phone.tap("1")
    phone.tap("None")  # morning stiffness
    phone.tap("1")
    assert "ready for phase 3, Spring" in phone.text
    assert "93% of your other leg" in phone.text
    assert record(phone)["phase"] == 3 and record(phone)["retests"][-1]["reps"] == 28


def test_retest_short_of_the_gate_says_what_is_needed(phone, clock):
    for _ in range(14):
        check_in(phone, pain="1")
        next_morning(clock)
    check_in(phone, pain="1")
    phone.say("15")
    phone.tap("Skip")
    phone.tap("3")
    phone.tap("None")
    phone.tap("4")
    assert "To move on: 20 or more single-leg heel raises" in phone.text
    assert record(phone)["phase"] == 2


def test_something_new_and_worrying_opens_the_safety_screen(phone):
    phone.command("checkin")
    phone.tap("Something new or worrying")
    assert "Safety first" in phone.text
    phone.tap("Calf swollen")
    phone.tap("Done")
    assert "Please get this checked today" in phone.text


def test_yesterdays_done_button_does_not_tick_today(phone, clock):
    reminder = render_reply(reminder_screen(Turn(record(phone), phone.coach.services)))
    phone.screens.append(reminder)
    next_morning(clock)
    replies = phone.tap("Done")
    assert replies[0].notice and "earlier message" in replies[0].notice
    assert "done_on" not in record(phone)


def test_shared_location_sets_the_time_zone(phone):
    phone.command("reminders")
    phone.tap("07:00")
    phone.send(Event("location", "-33.87,151.21"))
    phone.tap("Done")
    assert record(phone)["reminder"]["timezone"] == "Australia/Sydney"
    assert "07:00 (Australia/Sydney)" in phone.text


def test_typed_time_and_zone_are_understood_or_asked_again(phone):
    phone.command("reminders")
    phone.say("25:99")
    assert "a time like 07:30" in phone.text
    phone.say("6.45")
    phone.say("Atlantis")
    assert "I don't know that time zone" in phone.text
    phone.say("new york")
    phone.tap("Tuesday")
    phone.tap("Done")
    reminder = record(phone)["reminder"]
    assert reminder["time"] == "06:45" and reminder["timezone"] == "America/New_York"
    assert reminder["strength_days"] == ["mon", "tue", "wed", "fri"]


def test_two_days_without_a_check_in_bring_one_gentle_nudge(phone, clock):
    check_in(phone)
    coach = phone.coach
    nudges = []
    for _ in range(4):
        next_morning(clock)
        clock.moment = clock.moment.replace(hour=7, minute=31)
        [(_, [reminder])] = coach.claim_due(RUNNER)
        nudges.append("haven't heard from you" in render_reply(reminder).html)
    assert nudges == [False, True, False, False]


def test_stop_turns_reminders_off(phone, clock):
    phone.command("stop")
    assert "Reminders are off" in phone.text
    next_morning(clock)
    clock.moment = clock.moment.replace(hour=7, minute=31)
    assert phone.coach.claim_due(RUNNER) == []


def test_twelve_weeks_of_loading_without_improvement_brings_a_referral_at_retest(phone, clock):
    for _ in range(13 * 7):
        check_in(phone, pain="4")
        next_morning(clock)
        if record(phone)["state"] == "retest_reps":
            phone.say("15")
            phone.tap("Skip")
            phone.tap("4")
            phone.tap("None")
            phone.tap("4")
    assert any("without it getting better" in s.html for s in phone.screens)


def test_a_visa_a_score_from_elsewhere_is_kept_compared_and_summed_up(phone, clock):
    phone.command("visa")
    assert "0 to 100" in phone.text and "/visa 64" in phone.text
    phone.command("visa", "64")
    assert "VISA-A 64 saved" in phone.text
    phone.command("visa", "150")
    assert "from 0 to 100" in phone.text
    clock.advance(timedelta(days=14))
    phone.command("visa", "76")
    assert "up 12 points, a real improvement" in phone.text
    assert [entry["score"] for entry in record(phone)["visa"]] == [64, 76]
    clock.moment = datetime(2027, 3, 21, 19, 5, tzinfo=UTC)  # a Sunday evening
    [(kind, [summary, card])] = phone.coach.claim_due(RUNNER)
    assert kind == "summary" and "VISA-A: 76 (before: 64, a real improvement)" in render_reply(summary).html
    assert "👉" in render_reply(card).html, "the week's education card comes with the summary"
