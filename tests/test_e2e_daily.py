"""The daily loop end to end (in-process): reminders with their buttons, blocked runners, failures."""

from datetime import UTC, datetime, timedelta
from io import BytesIO

import matplotlib.image

from tests.clock import Clock
from tests.e2e import follow, make_coach, quiet, running_bot, say, tap
from tests.runner_script import REMINDER_SETUP, TYPICAL_RUNNER

MONDAY_0730 = datetime(2027, 3, 1, 7, 30, tzinfo=UTC)  # London is on UTC in March


async def onboarded(api, runner_id: int):
    user = api.user(runner_id)
    await say(user, "/start")
    await tap(user, "I understand and agree")
    await follow(user, TYPICAL_RUNNER + REMINDER_SETUP)
    return user


async def test_reminder_arrives_with_its_buttons_and_check_in_moves_the_plan(telegram, tmp_path):
    clock = Clock(MONDAY_0730 - timedelta(hours=1))
    coach = make_coach(tmp_path / "data", clock)
    async with running_bot(telegram, coach) as application:
        scheduler = application.bot_data["scheduler"]
        ana = await onboarded(telegram, 3001)
        clock.moment = MONDAY_0730
        assert await scheduler.tick() == 1
        reminder = ana.inbox[-1]
        assert "Strength day" in reminder.text
        assert {"✅ Done", "☀️ Check in", "⏰ Snooze 1 h", "Skip today"} <= set(reminder.buttons)
        assert await scheduler.tick() == 0  # never two on the same day
        await tap(ana, "Check in")
        await tap(ana, "7")
        await tap(ana, "No, still sore")
        await tap(ana, "Same as usual")
        await tap(ana, "Partly")
        await tap(ana, "3 km")
        assert "Lighter today" in ana.inbox[-1].text or "Lighter today" in ana.inbox[-2].text


async def test_progress_sends_a_real_png_drawn_from_the_runners_data(telegram, tmp_path):
    clock = Clock(MONDAY_0730)
    coach = make_coach(tmp_path / "data", clock)
    async with running_bot(telegram, coach):
        ben = await onboarded(telegram, 3002)
        for pain in ("2", "4", "1"):
            await say(ben, "/checkin")
            await tap(ben, pain)
            await tap(ben, "Yes, settled")
            await tap(ben, "Same as usual")
            await tap(ben, "Yes, all of it")
            await tap(ben, "5 km")
            clock.advance(timedelta(days=1))
        await say(ben, "/progress")
        photo = ben.inbox[-1].photo
        assert photo is not None and "3 check-ins" in ben.inbox[-1].content
        image = matplotlib.image.imread(BytesIO(photo.data), format="png")
        assert image.shape[0] > 200 and image.shape[1] > 200


async def test_runner_who_blocked_the_bot_is_marked_inactive_and_not_retried(telegram, tmp_path):
    clock = Clock(MONDAY_0730 - timedelta(hours=1))
    coach = make_coach(tmp_path / "data", clock)
    async with running_bot(telegram, coach) as application:
        scheduler = application.bot_data["scheduler"]
        await onboarded(telegram, 3003)
        telegram.block(3003)
        clock.moment = MONDAY_0730
        assert await scheduler.tick() == 0
        assert coach.store.load(3003)["reach"] == "blocked"
        attempts = len(telegram.calls_of("sendMessage"))
        clock.advance(timedelta(days=1))
        await scheduler.tick()
        assert len(telegram.calls_of("sendMessage")) == attempts
        assert 3003 not in [runner for _, runner in coach.store.wakeups.due(clock() + timedelta(days=30))]


async def test_network_failure_is_retried_and_the_reminder_sent_once(telegram, tmp_path, pauses):
    clock = Clock(MONDAY_0730 - timedelta(hours=1))
    coach = make_coach(tmp_path / "data", clock)
    async with running_bot(telegram, coach) as application:
        scheduler = application.bot_data["scheduler"]
        cat = await onboarded(telegram, 3004)
        before = len(cat.inbox)
        telegram.fail_next("sendMessage", status=502, description="Bad Gateway")
        telegram.drop_next("sendMessage")
        clock.moment = MONDAY_0730
        assert await scheduler.tick() == 1
        await quiet(telegram)
        assert len(cat.inbox) == before + 1
        assert "Strength day" in cat.inbox[-1].text
        assert pauses == [1, 2]  # the backoff between the three attempts
