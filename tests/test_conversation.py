"""The runner's conversation, driven through the engine exactly as the adapters drive it."""

from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest

from bot.terminal import chat
from conversations.clinic import load_clinic
from conversations.engine import Engine
from conversations.flow import mermaid_diagram
from conversations.messages import Screen, html_to_text, render_reply
from conversations.protocol import default_protocol
from conversations.replies import Event
from storage import open_store
from tests.runner_script import REMINDER_SETUP, TYPICAL_RUNNER

RUNNER = 4242
CLINIC = load_clinic()


class Phone:
    """One runner's view of the chat: what they send and what they see."""

    def __init__(self, coach: Engine, runner_id: int = RUNNER) -> None:
        self.coach = coach
        self.runner_id = runner_id
        self.screens: list[Screen] = []

    def send(self, event: Event) -> list[Screen]:
        outcome = self.coach.handle(self.runner_id, event)
        screens = [render_reply(reply, bot_username="achilles_coach_bot") for reply in outcome.replies]
        self.screens += screens
        return screens

    def command(self, name: str, argument: str = "") -> list[Screen]:
        return self.send(Event("command", name, argument))

    def say(self, text: str) -> list[Screen]:
        return self.send(Event("text", text))

    def tap(self, label: str) -> list[Screen]:
        data = self.button(label)
        return self.send(Event("button", data))

    def button(self, label: str) -> str:
        for screen in reversed(self.screens):
            if screen.buttons:
                for row in screen.buttons:
                    for button in row:
                        if label in button.label and button.data:
                            return button.data
                labels = [b.label for row in screen.buttons for b in row]
                raise AssertionError(f"no button {label!r} in {labels}")
        raise AssertionError("no keyboard on screen")

    @property
    def text(self) -> str:
        return "\n".join(html_to_text(s.html) for s in self.screens[-3:])

    def follow(self, script) -> None:
        for action, value in script:
            self.tap(value) if action == "tap" else self.say(value)


@pytest.fixture
def coach(tmp_path):
    store = open_store(tmp_path / "data")
    return Engine(store, CLINIC, default_protocol(), lambda: datetime(2026, 11, 23, 9, tzinfo=UTC))


@pytest.fixture
def phone(coach):
    return Phone(coach)


def consent(phone: Phone) -> None:
    phone.command("start")
    phone.tap("I understand and agree")


def test_runner_goes_from_start_to_a_plan(phone, coach):
    consent(phone)
    phone.follow(TYPICAL_RUNNER)
    assert "phase 2, Strength" in phone.text
    assert "Strength day" in phone.text and "3 x 15" in phone.text
    assert "not a diagnosis" in phone.text
    assert "Daily reminder" in phone.text
    phone.follow(REMINDER_SETUP)
    assert "every day at 07:30 (Europe/London)" in phone.text
    assert "Monday, Wednesday, Friday" in phone.text
    record = coach.store.load(RUNNER)
    assert record["state"] == "idle" and record["phase"] == 2
    [(wake_up, runner)] = coach.store.wakeups.due(datetime.now(UTC) + timedelta(days=2))
    assert runner == RUNNER and wake_up.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M") == "07:30"
    phone.command("today")
    assert "3 s up, 3 s down" in phone.text


def test_runner_with_snap_who_cannot_rise_gets_urgent_path_and_no_plan(phone, coach):
    consent(phone)
    phone.tap("A snap, pop")
    phone.tap("Can't rise onto the toes")
    phone.tap("Done")
    assert "get this checked today" in phone.text
    assert CLINIC.phone in phone.text
    assert "Strength day" not in phone.text
    phone.command("today")
    assert "get this checked today" in phone.text and "Strength day" not in phone.text
    assert coach.store.load(RUNNER)["assessment"]["phase"] is None


def test_breathless_runner_is_told_to_call_the_emergency_number(phone):
    consent(phone)
    phone.tap("Short of breath")
    phone.tap("Done")
    assert f"Call {CLINIC.emergency_number} now" in phone.text


def test_runner_who_declines_has_only_the_refusal_stored(phone, coach):
    phone.command("start")
    phone.tap("No thanks")
    record = coach.store.load(RUNNER)
    assert record.keys() == {"runner_id", "state", "consent"}
    assert record["consent"]["given"] is False


def test_nothing_is_stored_before_consent(phone, coach):
    phone.command("start")
    phone.say("hello")
    assert coach.store.load(RUNNER) is None


def test_typed_nonsense_gets_a_friendly_reask_of_the_same_question(phone):
    consent(phone)
    phone.tap("None of these")
    phone.say("forty")
    assert "I need a number here, from 10 to 100" in phone.text
    assert "How old are you?" in phone.text
    phone.say("250")
    assert "from 10 to 100" in phone.text
    phone.say("41")
    assert "Which heel hurts?" in phone.text


def test_back_returns_to_the_previous_question_keeping_answers(phone, coach):
    consent(phone)
    phone.follow(TYPICAL_RUNNER[:3])
    assert "Did it start gradually" in phone.text
    phone.command("back")
    assert "Which heel hurts?" in phone.text
    phone.tap("Left")
    assert coach.store.load(RUNNER)["answers"]["side"] == "left"
    assert coach.store.load(RUNNER)["answers"]["age"] == 38


def test_button_from_an_older_message_changes_nothing(phone, coach):
    consent(phone)
    phone.tap("None of these")
    old_keyboard = phone.screens[-1]
    phone.say("38")
    before = coach.store.load(RUNNER)
    stale = old_keyboard.buttons[0][0].data if old_keyboard.buttons else phone.button("Right")
    replies = phone.send(Event("button", stale))
    assert replies[0].notice and "earlier message" in replies[0].notice
    assert coach.store.load(RUNNER) == before


def test_multi_select_toggles_in_place_and_shows_ticks(phone):
    consent(phone)
    replies = phone.tap("A gap or dent")
    assert replies[0].edit
    labels = [b.label for row in replies[0].buttons for b in row]
    assert "✅ A gap or dent in the tendon" in labels and "Done ✔️" in labels
    replies = phone.tap("A gap or dent")
    assert "None of these" in [b.label for row in replies[0].buttons for b in row]


def test_restart_resumes_at_the_same_question_with_answers_kept(tmp_path, phone):
    consent(phone)
    phone.follow(TYPICAL_RUNNER[:5])
    restarted = Engine(open_store(tmp_path / "data"), CLINIC, default_protocol(), phone.coach.services.now)
    again = Phone(restarted)
    again.command("start")
    assert "Now the same on your left leg" in again.text
    again.say("20")
    assert "How much did the heel raises on your right leg hurt" in again.text
    assert restarted.store.load(RUNNER)["answers"]["age"] == 38


def test_update_redelivered_after_a_crash_is_not_applied_twice_but_the_question_is_shown(phone, coach):
    consent(phone)
    phone.tap("None of these")
    first = phone.send(Event("text", "38", update_id=500))
    again = phone.send(Event("text", "38", update_id=500))
    assert "Which heel hurts?" in first[-1].html and "Which heel hurts?" in again[-1].html
    assert again[-1].buttons == first[-1].buttons, "the same buttons, still valid"
    record = coach.store.load(RUNNER)
    assert record["state"] == "side" and record["applied"] == [500]


def test_an_update_id_seen_before_a_quiet_week_is_a_new_update(tmp_path):
    """Telegram starts its ids again anywhere after a week without updates."""
    moment = [datetime(2026, 11, 23, 9, tzinfo=UTC)]
    coach = Engine(open_store(tmp_path / "data"), CLINIC, default_protocol(), lambda: moment[0])
    phone = Phone(coach)
    consent(phone)
    phone.tap("None of these")
    phone.send(Event("text", "38", update_id=500))
    moment[0] += timedelta(days=8)
    phone.send(Event("text", "Right", update_id=500))
    assert "Did it start gradually" in phone.text
    assert coach.store.load(RUNNER)["answers"]["side"] == "right"


def test_cancel_pauses_and_start_resumes(phone):
    consent(phone)
    phone.tap("None of these")
    phone.command("cancel")
    phone.say("38")
    assert "paused" in phone.text.lower()
    phone.command("start")
    assert "How old are you?" in phone.text


def test_export_returns_everything_and_delete_erases_it(phone, coach, tmp_path):
    consent(phone)
    phone.follow(TYPICAL_RUNNER)
    replies = phone.command("export")
    name, content = replies[0].document
    assert str(RUNNER) in name and b'"age": 38' in content
    phone.command("delete")
    assert "Erase all your data?" in phone.text
    phone.tap("Yes, erase everything")
    assert "erased" in phone.text
    assert coach.store.load(RUNNER) is None
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert str(RUNNER).encode() not in path.read_bytes(), path


def test_delete_can_be_called_off(phone, coach):
    consent(phone)
    phone.command("delete")
    phone.tap("Keep my data")
    assert "Nothing was erased" in phone.text
    assert coach.store.load(RUNNER) is not None


def test_unknown_command_is_answered_with_help(phone):
    phone.command("fly")
    assert "I don't know /fly" in phone.text


def test_typed_markup_is_escaped(phone):
    phone.command("<b>bold</b>")
    assert "&lt;b&gt;" in phone.screens[-1].html


def test_checked_in_diagram_is_current():
    from bot.cli import DIAGRAM

    assert DIAGRAM.read_text(encoding="utf-8") == mermaid_diagram(), (
        "docs/conversation.mmd is out of date: run `achilles-coach diagram`"
    )


def test_terminal_chat_drives_the_same_conversation(coach):
    script = "a\nh\n38\n/back\n/quit\n"
    out = StringIO()
    chat(coach, RUNNER, StringIO(script), out)
    printed = out.getvalue()
    assert "Welcome to Achilles Coach" in printed
    assert "h) None of these" in printed
    assert printed.count("How old are you?") == 2, "asked, then asked again after /back"
    assert "Which heel hurts?" in printed
    assert coach.store.load(RUNNER)["state"] == "age"
