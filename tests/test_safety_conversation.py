"""The safety path through the conversation engine, as a runner lives it."""

from datetime import UTC, datetime, timedelta

import pytest

from conversations import questionnaire
from conversations.clinic import load_clinic
from conversations.engine import Engine
from conversations.protocol import default_protocol
from storage import open_store
from tests.clock import Clock
from tests.runner_script import REMINDER_SETUP, TYPICAL_RUNNER
from tests.test_conversation import Phone

CLINIC = load_clinic()
RUNNER = 31
POP = "I felt a pop yesterday during sprints"
HOP_TEST = "Hop test"
DOSE_WORDS = ("Strength day", "x 15", "x 30 s", "phase 1", "phase 2")


@pytest.fixture
def clock():
    return Clock(datetime(2027, 3, 1, 8, tzinfo=UTC))


@pytest.fixture
def coach(tmp_path, clock):
    return Engine(open_store(tmp_path / "data"), CLINIC, default_protocol(), clock)


@pytest.fixture
def phone(coach):
    phone = Phone(coach, RUNNER)
    phone.command("start")
    phone.tap("I understand and agree")
    return phone


def everything_seen(phone: Phone) -> str:
    from conversations.messages import html_to_text

    return "\n".join(html_to_text(s.html) for s in phone.screens)


def record(phone: Phone) -> dict:
    return phone.coach.store.load(RUNNER)


def test_sudden_onset_with_two_raises_and_nothing_ticked_stops_at_the_urgent_screen(phone):
    phone.follow(
        [("tap", "None of these"), ("say", "41"), ("tap", "Left"), ("tap", "Suddenly"), ("say", "2")]
    )
    assert "Please get this checked today" in phone.text
    assert "Managing only 2 single-leg heel raises after pain that started suddenly" in phone.text
    assert CLINIC.phone in phone.text
    seen = everything_seen(phone)
    assert HOP_TEST not in seen and not any(word in seen for word in DOSE_WORDS)
    assert record(phone)["state"] == "urgent" and record(phone)["assessment"]["phase"] is None


def test_weak_against_the_good_side_after_a_sudden_onset_is_urgent_too(phone):
    phone.follow(
        [("tap", "None of these"), ("say", "41"), ("tap", "Right"), ("tap", "Suddenly"), ("say", "12")]
    )
    assert "Now the same on your left leg" in phone.text
    phone.say("30")
    assert "Please get this checked today" in phone.text and "against 30 on the other" in phone.text


def test_gradual_onset_with_no_raise_at_all_is_urgent(phone):
    phone.follow([("tap", "None of these"), ("say", "41"), ("tap", "Right"), ("tap", "Gradually")])
    phone.tap("Can't do one")
    assert "Please get this checked today" in phone.text
    assert HOP_TEST not in everything_seen(phone)


@pytest.mark.parametrize(
    "worry",
    [
        POP,
        "it went SNAP",
        "felt like someone kicked me",
        "I can't stand on tiptoe",
        "my calf is swollen and hot",
        "I've had a fever since Monday",
        "some chest pain on the stairs",
        "I'm on ciprofloxacin",
        "gap in the tendon",
        "I think I tore my Achilles",
        "my achilles gave way on the hill",
    ],
)
def test_a_worrying_message_at_any_question_brings_the_safety_question_at_once(phone, worry):
    for action, value in TYPICAL_RUNNER:
        question = phone.screens[-1]
        phone.say(worry)
        assert "Before anything else: a safety check" in phone.text, question.html
        phone.tap("None of these")
        assert "we carry on" in phone.text
        assert phone.screens[-1].html == question.html, "the same question again"
        phone.tap(value) if action == "tap" else phone.say(value)
    assert record(phone)["state"] == "reminder_time"


def test_the_signs_found_are_ticked_and_confirming_them_is_the_urgent_path(phone):
    phone.follow(TYPICAL_RUNNER[:8])
    phone.say("Actually I felt a pop at the back of my ankle yesterday")
    labels = [b.label for row in phone.screens[-1].buttons for b in row]
    assert "✅ A snap, pop or 'kick' at the back of the ankle" in labels
    phone.tap("Yes, this happened")
    assert "Please get this checked today" in phone.text and CLINIC.phone in phone.text
    assert record(phone)["state"] == "urgent" and "mode" not in record(phone)
    assert record(phone)["answers"]["red_flags"] == ["pop_or_kick"]


def test_while_the_safety_question_waits_other_commands_show_it_again(phone):
    phone.say(POP)
    phone.command("today")
    assert "Please answer the safety question first" in phone.text
    phone.command("clinic")
    assert CLINIC.phone in phone.text


def test_the_safety_net_works_after_onboarding_in_the_check_in_and_in_the_retest(phone, clock):
    phone.follow(TYPICAL_RUNNER + REMINDER_SETUP)
    phone.say("my calf is red and puffy")
    assert "safety check" in phone.text
    phone.tap("None of these")
    assert record(phone)["state"] == "idle"
    phone.command("checkin")
    phone.say("I can't push off at all since this morning")
    phone.tap("Yes, this happened")
    assert "Please get this checked today" in phone.text
    assert "draft" not in record(phone), "the interrupted check-in is dropped"


def test_the_retest_stops_at_the_urgent_screen_when_no_raise_is_possible(phone, clock):
    phone.follow(TYPICAL_RUNNER + REMINDER_SETUP)
    for _ in range(15):
        phone.command("checkin")
        phone.follow(
            [
                ("tap", "1"),
                ("tap", "Yes, settled"),
                ("tap", "Same as usual"),
                ("tap", "Yes, all of it"),
                ("tap", "5 km"),
            ]
        )
        if record(phone)["state"] != "retest_reps":
            clock.advance(timedelta(days=1))
    assert "time for a quick retest" in phone.text
    phone.tap("Can't do one")
    assert "Please get this checked today" in phone.text
    assert record(phone)["state"] == "urgent" and record(phone)["retests"][-1]["reps"] == 0


HOP_STEP = 15  # TYPICAL_RUNNER's answer to the hop test


@pytest.mark.parametrize(
    "step, answer",
    [
        (1, ("say", "16")),  # age: under 18
        (6, ("tap", "6")),  # heel raises hurt 6/10
        (11, ("tap", "8")),  # pain right now 8/10
        (9, ("tap", "30-60 min")),  # long morning stiffness: calm phase
    ],
)
def test_the_hop_test_is_not_asked_when_it_is_not_safe(phone, step, answer):
    script = [answer if index == step else action for index, action in enumerate(TYPICAL_RUNNER)]
    phone.follow(action for index, action in enumerate(script) if index != HOP_STEP)
    assert HOP_TEST not in everything_seen(phone)
    assert record(phone)["state"] in ("reminder_time", "referred")
    assert record(phone)["answers"].get("hop_pain") is None


def test_both_sides_word_the_tests_for_the_worse_leg(phone):
    phone.follow([("tap", "None of these"), ("say", "41"), ("tap", "Both"), ("tap", "Gradually")])
    assert "Stand on your more painful leg only" in phone.text
    phone.say("20")
    assert "your other leg, the less painful one" in phone.text


def test_emergency_screen_leads_with_the_emergency_number_and_no_booking_button(phone):
    phone.tap("Short of breath")
    phone.tap("Done")
    screen = phone.screens[-1]
    assert screen.html.startswith(f"🚨 <b>Call {CLINIC.emergency_number} now.</b>")
    assert all(button.url != CLINIC.booking_url for row in screen.buttons for button in row)


def test_antibiotic_screen_points_to_the_prescriber(phone):
    phone.tap("An antibiotic")
    phone.tap("Done")
    assert "contact the doctor who prescribed the antibiotic today" in phone.text
    assert all(button.url != CLINIC.booking_url for row in phone.screens[-1].buttons for button in row)


def test_answering_again_after_an_urgent_result_first_asks_about_a_clinician(phone, clock):
    phone.tap("A gap or dent")
    phone.tap("Done")
    phone.tap("Answer the questions again")
    assert "has a clinician checked it" in phone.text
    phone.tap("No, not yet")
    assert "Please get this checked today" in phone.text and record(phone)["state"] == "urgent"
    assert record(phone)["answers"]["red_flags"] == ["gap_in_tendon"], "kept until a clinician has seen them"
    clock.advance(timedelta(days=3))
    phone.tap("Answer the questions again")
    phone.tap("Yes, a clinician has checked it")
    assert "Safety first" in phone.text and record(phone)["answers"] == {}
    assert [c["seen"] for c in record(phone)["clinician_checks"]] == [False, True]
    assert record(phone)["clinician_checks"][-1]["date"] == "2027-03-04"


def test_before_consent_a_worrying_message_still_gets_the_way_to_care_and_nothing_is_stored(coach):
    stranger = Phone(coach, 999)
    stranger.say("I heard a snap in my heel and can't walk")
    assert "can need care today" in stranger.text and CLINIC.phone in stranger.text
    assert stranger.button("I understand and agree")
    assert coach.store.load(999) is None


def test_a_failure_inside_the_engine_is_an_apology_with_the_clinics_phone_and_the_question_again(
    phone, monkeypatch
):
    phone.follow(TYPICAL_RUNNER[:2])
    before = record(phone)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(questionnaire, "answer", broken)
    replies = phone.tap("Right")
    assert "Sorry, something went wrong" in phone.text and CLINIC.phone in phone.text
    assert "Which heel hurts?" in replies[-1].html
    assert record(phone) == before
