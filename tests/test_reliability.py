"""Never silent, never lost, never twice: one regression test per finding of the reliability
review (issue 11's table), over HTTP where the finding is about Telegram. The crash and fuzz
findings have their own files (test_crash.py, test_e2e_fuzz.py, test_e2e_webhook.py)."""

from __future__ import annotations

import asyncio
import csv
import errno
import io
import os
import sys
from datetime import UTC, date, datetime, timedelta

from bot.bot_api_client import AiohttpRequest
from bot.telegram_app import build_application
from conversations.challenges import Challenge, csv_export
from conversations.replies import Event
from testkit.story import serving
from tests.clock import Clock
from tests.e2e import ROOT, make_coach, quiet, running_bot, say, tap
from tests.runner_script import onboard_in_engine
from tests.test_e2e_clinic import ADMIN, NOW, create_challenge, open_link
from tests.test_e2e_faults import APOLOGY, answer, at_the_age_question, texts_since
from tests.test_reminders import Phones, onboard, run_until, start_bot

DISK_FULL = OSError(errno.ENOSPC, "No space left on device")


async def join(api, runner_id: int, name: str, code: str):
    runner = await open_link(api, runner_id, name, code)
    await tap(runner, "I understand and agree")
    await tap(runner, "Join and share my check-ins")
    return runner


def button_data(user, part: str, message=None) -> str:
    message = message or [m for m in user.api.current_messages(user.id) if m.inline_keyboard][-1]
    return next(b["callback_data"] for row in message.inline_keyboard for b in row if part in b["text"])


def press(user, part: str, message=None) -> None:
    """Tap without waiting for an answer (there may be none to wait for)."""
    message = message or [m for m in user.api.current_messages(user.id) if m.inline_keyboard][-1]
    user.api.press_button(user.id, message.message_id, button_data(user, part, message))


# --- the outbox: alerts and announcements -------------------------------------------------------


async def test_a_red_flag_alert_reaches_the_admin_even_when_the_runners_own_screen_fails(bot_api, tmp_path):
    """Finding: the alert waited behind the runner's reply; a 5xx there left it unsent."""
    coach = make_coach(tmp_path / "data", Clock(NOW), admins=(ADMIN,))
    async with running_bot(bot_api, coach):
        _, code = await create_challenge(bot_api)
        eve = await join(bot_api, 505, "Eve", code)
        await tap(eve, "A snap, pop")
        since = bot_api.mark(ADMIN)
        bot_api.fail_next("editMessageText", status=502, times=10, chat_id=eve.id)
        bot_api.fail_next("sendMessage", status=502, times=10, chat_id=eve.id)
        press(eve, "Done")  # the runner's urgent screen fails: no reply to wait for
        alert = await bot_api.wait_for_message(ADMIN, since=since, timeout=5)
        assert "Red flag" in alert[0].text and "Eve" in alert[0].text
    assert len(bot_api.messages_to(ADMIN)[since:]) == 1


async def test_an_alert_kept_before_a_crash_is_sent_once_after_the_restart(telegram, tmp_path):
    """Finding: alerts lived in memory until sent; a crash lost them."""
    data = tmp_path / "data"
    before = make_coach(data, Clock(NOW), admins=(ADMIN,))
    async with running_bot(telegram, before):
        _, code = await create_challenge(telegram)
        eve = await join(telegram, 505, "Eve", code)
        await tap(eve, "A snap, pop")
    done = button_data(eve, "Done")
    since = telegram.mark(ADMIN)
    # The tap applied by the engine, and the bot killed before it sent anything at all.
    before.handle(eve.id, Event("button", done, update_id=1))
    before.store.close()
    async with running_bot(telegram, make_coach(data, Clock(NOW), admins=(ADMIN,))) as application:
        await application.bot_data["scheduler"].tick()  # the first tick after start-up
        await application.bot_data["scheduler"].tick()
    alerts = [m.text for m in telegram.messages_to(ADMIN)[since:]]
    assert len(alerts) == 1 and "Eve" in alerts[0]


async def test_sending_an_announcement_again_after_a_failed_confirmation_sends_it_once(bot_api, tmp_path):
    """Finding: a 400 on the admin's "Sent" confirmation made them tap Send again, and every
    participant got the announcement twice."""
    coach = make_coach(tmp_path / "data", Clock(NOW), admins=(ADMIN,))
    async with running_bot(bot_api, coach):
        _, code = await create_challenge(bot_api)
        fay = await join(bot_api, 506, "Fay", code)
        admin = bot_api.user(ADMIN)
        await say(admin, f"/announce {code} Track session moved to 19:00")
        preview = admin.inbox[-1]
        before = len(fay.inbox)
        bot_api.fail_next("editMessageText", status=400, description="Bad Request: message can't be edited",
                          chat_id=ADMIN)
        bot_api.fail_next("sendMessage", status=400, description="Bad Request: message can't be sent",
                          chat_id=ADMIN)
        await tap(admin, "Send it")
        await quiet(bot_api)
        press(admin, "Send it", preview)  # the preview still shows its button
        await quiet(bot_api)
    announcements = [m.text for m in fay.inbox[before:] if "Track session moved" in (m.text or "")]
    assert len(announcements) == 1


# --- the scheduler ------------------------------------------------------------------------------


async def test_a_full_disk_for_one_runner_never_repeats_a_reminder_and_the_others_get_theirs(
        tmp_path, monkeypatch):
    """Finding: one runner's failing save escaped the tick: they got the same reminder every 20 s
    (14 in 5 minutes) and the runners after them got nothing."""
    clock = Clock(datetime(2027, 3, 10, 12, tzinfo=UTC))
    phones = Phones(clock)
    scheduler = await start_bot(tmp_path, clock, phones)
    for runner_id in (101, 102, 103):
        onboard(scheduler, runner_id, "20:00", "UTC")
    save = scheduler.store.save

    def full_for_101(runner_id, record):
        if runner_id == 101:
            raise DISK_FULL
        return save(runner_id, record)

    monkeypatch.setattr(scheduler.store, "save", full_for_101)
    await run_until(scheduler, clock, datetime(2027, 3, 10, 20, 5, tzinfo=UTC))
    assert len(phones.reminders(101)) == 0  # could not be marked sent: not sent at all
    assert len(phones.reminders(102)) == 1 and len(phones.reminders(103)) == 1
    monkeypatch.setattr(scheduler.store, "save", save)  # space again: it goes out, once
    await run_until(scheduler, clock, datetime(2027, 3, 10, 20, 30, tzinfo=UTC))
    assert len(phones.reminders(101)) == 1 and len(phones.reminders(102)) == 1


async def test_one_unreadable_record_never_stops_the_others_reminders(tmp_path):
    clock = Clock(datetime(2027, 3, 10, 12, tzinfo=UTC))
    phones = Phones(clock)
    scheduler = await start_bot(tmp_path, clock, phones)
    for runner_id in (101, 102, 103):
        onboard(scheduler, runner_id, "20:00", "UTC")
    scheduler.store.close()
    (tmp_path / "runners" / "101.json").write_text("{ not json")
    scheduler = await start_bot(tmp_path, clock, phones)
    await run_until(scheduler, clock, datetime(2027, 3, 10, 20, 5, tzinfo=UTC))
    assert len(phones.reminders(102)) == 1 and len(phones.reminders(103)) == 1


# --- shared state -------------------------------------------------------------------------------


async def test_admitting_a_runner_on_a_full_disk_leaves_them_waiting_and_a_retry_admits_them(
        telegram, tmp_path, monkeypatch):
    """Finding: disk full while admitting left a runner on the roster but not in the challenge,
    and their red flags alerted no one."""
    coach = make_coach(tmp_path / "data", Clock(NOW), admins=(ADMIN,))
    async with running_bot(telegram, coach):
        _, code = await create_challenge(telegram)
        for runner_id, name in [(501, "Ana"), (502, "Ben"), (503, "Cat")]:
            await join(telegram, runner_id, name, code)
        dan = await open_link(telegram, 504, "Dan", code)
        await tap(dan, "I understand and agree")
        await tap(dan, "Join the waitlist")
        admin = telegram.user(ADMIN)
        await say(admin, f"/waitlist {code}")
        save_challenge = coach.store.save_challenge
        monkeypatch.setattr(coach.store, "save_challenge", lambda challenge: (_ for _ in ()).throw(DISK_FULL))
        await tap(admin, "Admit Dan")
        assert APOLOGY in admin.inbox[-1].text
        monkeypatch.setattr(coach.store, "save_challenge", save_challenge)
        await say(admin, f"/roster {code}")
        assert "Dan" not in admin.inbox[-1].text  # not half in: still waiting
        await say(admin, f"/waitlist {code}")
        await tap(admin, "Admit Dan")
        await quiet(telegram)
        await say(admin, f"/roster {code}")
        assert "Dan" in admin.inbox[-1].text
        await say(dan, "/start")
        since = telegram.mark(ADMIN)
        await tap(dan, "A snap, pop")
        await dan.tap("Done ✔️")
        await quiet(telegram)
        assert any("Dan" in (m.text or "") for m in telegram.messages_to(ADMIN)[since:])


# --- Telegram's answers -------------------------------------------------------------------------


async def test_a_message_whose_answer_timed_out_is_not_sent_again(bot_api, tmp_path):
    """Finding: a TimedOut send was retried, so a message that had arrived showed twice."""
    coach = make_coach(tmp_path / "data")
    application = build_application(bot_api.token, bot_api.base_url, coach, rate_limited=False,
                                    request=AiohttpRequest(read_seconds=0.3))
    async with serving(application):
        runner = await at_the_age_question(bot_api, 6101)
        mark = bot_api.mark(runner.id)
        bot_api.hold_next("sendMessage", 1.0, chat_id=runner.id)  # arrives; the answer comes late
        await answer(runner, "say", "38")
        await asyncio.sleep(1.2)  # past the held answer: a resend would have happened by now
        await answer(runner, "tap", "Right")
    seen = texts_since(runner, mark)
    assert len(seen) == 2 and "Which heel" in seen[0]
    assert coach.store.load(runner.id)["answers"]["side"] == "right"


async def test_the_admins_menu_is_set_once_they_open_the_chat(bot_api, tmp_path):
    """Finding: the admin's menu was set only at start-up, refused before they had opened a
    chat with the bot, and never tried again."""
    coach = make_coach(tmp_path / "data", admins=(ADMIN,))
    admin_menu = bot_api.menu_key({"type": "chat", "chat_id": ADMIN})
    async with running_bot(bot_api, coach):
        assert admin_menu not in bot_api.commands  # refused: no chat yet
        await say(bot_api.user(ADMIN), "/help")
        await quiet(bot_api)
        assert "roster" in {command["command"] for command in bot_api.commands[admin_menu]}


async def test_a_refused_token_is_named_but_never_printed(bot_api):
    """Finding: a refused token was printed in the traceback."""
    token = "123456:AAH-not-the-right-secret-at-all-0123456"  # the server knows another
    env = dict(os.environ, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL=bot_api.base_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    output = (stdout + stderr).decode()
    assert process.returncode != 0
    assert "refused the token" in output
    assert token.split(":")[1] not in output


# --- the small ones -----------------------------------------------------------------------------


async def test_a_runner_marked_unreachable_is_reached_again_by_any_message(telegram, tmp_path):
    """Finding: after a 403 only /start brought a runner's reminders back."""
    clock = Clock(datetime(2027, 3, 1, 7, 0, tzinfo=UTC))
    coach = make_coach(tmp_path / "data", clock)
    onboard_in_engine(coach, 7101)
    telegram.register_chat(7101)
    async with running_bot(telegram, coach) as application:
        scheduler = application.bot_data["scheduler"]
        telegram.block(7101)
        clock.advance(timedelta(minutes=31))
        await scheduler.tick()
        telegram.unblock(7101)
        await say(telegram.user(7101), "hello")
        for _ in range(24 * 60 // 20):  # the next day's 07:30 comes round
            clock.advance(timedelta(minutes=20))
            await scheduler.tick()
    reminders = [m for m in telegram.messages_to(7101) if "Good morning" in (m.text or "")]
    assert len(reminders) == 1


async def test_names_reach_admins_without_bidi_or_invisible_characters(telegram, tmp_path):
    coach = make_coach(tmp_path / "data", Clock(NOW), admins=(ADMIN,))
    async with running_bot(telegram, coach):
        _, code = await create_challenge(telegram)
        await join(telegram, 507, "\u202eEve\u200b\u2066lyn", code)
        await say(telegram.user(ADMIN), f"/roster {code}")
        roster = telegram.user(ADMIN).inbox[-1].text
    assert "Evelyn" in roster
    assert not any(ch in roster for ch in "\u202e\u200b\u2066")


async def test_delete_forgets_the_runners_reminders_at_once(telegram, tmp_path):
    """Finding: /delete left the runner in the scheduler until a restart."""
    clock = Clock(datetime(2027, 3, 1, 7, 0, tzinfo=UTC))
    coach = make_coach(tmp_path / "data", clock)
    onboard_in_engine(coach, 7102)
    async with running_bot(telegram, coach) as application:
        gus = telegram.user(7102)
        await say(gus, "/delete")
        await tap(gus, "Yes, erase everything")
        clock.advance(timedelta(minutes=31))
        await application.bot_data["scheduler"].tick()
    assert coach.store.load(7102) is None
    assert coach.store.wakeups.due(clock() + timedelta(days=2)) == []
    assert not [m for m in telegram.messages_to(7102) if "Good morning" in (m.text or "")]


def test_a_name_written_as_a_formula_stays_text_in_the_clinics_csv():
    formula = '=HYPERLINK("http://x","y")'
    challenge = Challenge(code="abc", name="Spring", start=date(2027, 3, 1), weeks=6, places=5, created_by=1,
                          participants=[{"id": 1, "name": formula, "joined": "2027-03-01"}])
    text = csv_export(challenge, [(challenge.participants[0], [], {})], today=date(2027, 3, 2))
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells if cell[:1] not in "0123456789")
    assert any("HYPERLINK" in cell for cell in cells)



# --- found by the fuzz test ---------------------------------------------------------------------


def test_forged_taps_with_other_digits_are_stale_not_a_failure(tmp_path):
    coach = make_coach(tmp_path / "data")
    onboard_in_engine(coach, 7201, steps=[])  # at the safety question
    for forged in ("²|x", "①|t3", "46|t²", "1|s²"):
        replies = coach.handle(7201, Event("button", forged)).replies
        assert [reply.notice for reply in replies] == ["common/stale_button.j2"], forged


def test_back_after_pausing_the_questions_shows_the_question_before(tmp_path):
    coach = make_coach(tmp_path / "data")
    onboard_in_engine(coach, 7202, steps=[("tap", "None of these"), ("say", "38")])
    coach.handle(7202, Event("command", "cancel"))
    replies = coach.handle(7202, Event("command", "back")).replies
    assert [reply.template for reply in replies][-1] == "questions/age.j2"


async def test_a_tap_under_a_file_gets_a_new_message_not_an_edit(telegram, tmp_path):
    async with running_bot(telegram, make_coach(tmp_path / "data")):
        ann = telegram.user(7203)
        await say(ann, "/start")
        await tap(ann, "I understand and agree")
        await say(ann, "/export")  # a file, under which a stale keyboard's data arrives
        document = ann.inbox[-1]
        pop = button_data(ann, "snap", [m for m in ann.inbox if m.inline_keyboard][-1])
        mark = telegram.mark(ann.id)
        telegram.press_button(ann.id, document.message_id, pop, strict=False)
        await quiet(telegram)
    shown = texts_since(ann, mark)
    assert len(shown) == 1 and "Safety first" in shown[0] and APOLOGY not in shown[0]
