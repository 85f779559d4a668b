"""Daily reminders at each runner's local time, across daylight-saving changes and restarts."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.scheduler import ReminderScheduler
from conversations.clinic import load_clinic
from conversations.engine import Engine
from conversations.messages import html_to_text, render_reply
from conversations.protocol import default_protocol
from conversations.reminders import reminder_at
from conversations.replies import Event
from storage import open_store
from tests.clock import Clock
from tests.runner_script import TYPICAL_RUNNER, onboard_in_engine

START = datetime(2027, 3, 10, tzinfo=UTC)  # LA springs forward on 14 March, Sydney falls back 4 April
DAYS = 30
TICK = timedelta(minutes=1)
# Thirty days of looks: every time in RUNNERS is on the half hour (every DST change on the hour),
# so a look every 10 minutes meets each on its minute, in a tenth of the looks.
MONTH_TICK = timedelta(minutes=10)
RUNNERS = {
    101: ("Australia/Sydney", "06:30", "Sydney, Melbourne"),
    102: ("America/Los_Angeles", "07:00", "US Pacific"),
    103: ("UTC", "20:00", "UTC"),
}


def onboard(scheduler: ReminderScheduler, runner_id: int, time: str, zone_button: str) -> None:
    reminder = [("say", time), ("tap", zone_button), ("tap", "Done")]
    engine = scheduler.engine
    onboard_in_engine(engine, runner_id, [*TYPICAL_RUNNER, *reminder])
    assert engine.store.load(runner_id)["state"] == "idle"


def handle(scheduler: ReminderScheduler, runner_id: int, event: Event) -> None:
    scheduler.engine.handle(runner_id, event)


class Phones:
    """What each runner's phone received, with the moment it arrived."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.received: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
        self.screens: list = []

    async def send(self, runner_id: int, replies, lang: str) -> None:
        """One scheduled message (the Sunday summary comes with its education card)."""
        screens = [render_reply(reply, lang) for reply in replies]
        self.received[runner_id].append((self.clock(), "\n".join(html_to_text(s.html) for s in screens)))
        self.screens += screens

    def reminders(self, runner_id: int) -> list[datetime]:
        return [moment for moment, text in self.received[runner_id] if "Your week" not in text]

    def summaries(self, runner_id: int) -> list[datetime]:
        return [moment for moment, text in self.received[runner_id] if "Your week" in text]


async def start_bot(data_dir, clock: Clock, phones: Phones) -> ReminderScheduler:
    engine = Engine(open_store(data_dir), load_clinic(), default_protocol(), clock)
    scheduler = ReminderScheduler(engine, phones.send)
    await scheduler.load()
    return scheduler


async def run_until(scheduler: ReminderScheduler, clock: Clock, end: datetime,
                    tick: timedelta = TICK) -> None:
    while clock() < end:
        clock.advance(tick)
        await scheduler.tick()


async def test_one_reminder_per_local_day_at_the_chosen_time_across_dst_and_a_restart(tmp_path):
    clock = Clock(START)
    phones = Phones(clock)
    scheduler = await start_bot(tmp_path, clock, phones)
    for runner_id, (_, time, button) in RUNNERS.items():
        onboard(scheduler, runner_id, time, button)

    await run_until(scheduler, clock, START + timedelta(days=DAYS // 2), MONTH_TICK)
    scheduler = await start_bot(tmp_path, clock, phones)  # a restart: new process, same data
    await run_until(scheduler, clock, START + timedelta(days=DAYS), MONTH_TICK)

    for runner_id, (zone_name, time, _) in RUNNERS.items():
        zone = ZoneInfo(zone_name)
        schedule = {"time": time, "timezone": zone_name}
        sent = [moment.astimezone(zone) for moment in phones.reminders(runner_id)]
        days = [moment.date() for moment in sent]
        assert len(days) == len(set(days)), f"{zone_name}: two reminders on one day"
        first = START.astimezone(zone).date()
        expected = {
            first + timedelta(days=n)
            for n in range(DAYS + 1)
            if START < reminder_at(schedule, first + timedelta(days=n)) <= clock()
        }
        assert set(days) == expected, f"{zone_name}: missing {sorted(expected - set(days))}"
        assert {moment.strftime("%H:%M") for moment in sent} == {time}, zone_name
        summaries = [moment.astimezone(zone) for moment in phones.summaries(runner_id)]
        assert {moment.strftime("%a %H:%M") for moment in summaries} == {"Sun 19:00"}, zone_name
        assert len(summaries) == len({moment.date() for moment in summaries}) >= 4


async def test_reminder_missed_while_down_is_sent_once_within_two_hours(tmp_path):
    clock = Clock(datetime(2027, 3, 10, 12, tzinfo=UTC))
    phones = Phones(clock)
    scheduler = await start_bot(tmp_path, clock, phones)
    onboard(scheduler, 103, "20:00", "UTC")
    await run_until(scheduler, clock, datetime(2027, 3, 10, 19, 30, tzinfo=UTC))
    clock.advance(timedelta(hours=1))  # the bot is down from 19:30 to 20:30
    scheduler = await start_bot(tmp_path, clock, phones)
    await scheduler.tick()
    await run_until(scheduler, clock, datetime(2027, 3, 10, 23, 0, tzinfo=UTC))
    assert [m.strftime("%H:%M") for m in phones.reminders(103)] == ["20:30"]


async def test_reminder_missed_by_more_than_two_hours_waits_for_the_next_day(tmp_path):
    clock = Clock(datetime(2027, 3, 10, 12, tzinfo=UTC))
    phones = Phones(clock)
    scheduler = await start_bot(tmp_path, clock, phones)
    onboard(scheduler, 103, "20:00", "UTC")
    clock.moment = datetime(2027, 3, 10, 22, 30, tzinfo=UTC)
    scheduler = await start_bot(tmp_path, clock, phones)
    await run_until(scheduler, clock, datetime(2027, 3, 11, 21, 0, tzinfo=UTC))
    assert [m.isoformat() for m in phones.reminders(103)] == ["2027-03-11T20:00:00+00:00"]


@pytest.fixture
async def setup(tmp_path):
    clock = Clock(datetime(2027, 3, 10, 12, tzinfo=UTC))
    phones = Phones(clock)
    scheduler = await start_bot(tmp_path, clock, phones)
    onboard(scheduler, 103, "20:00", "UTC")
    return clock, phones, scheduler


def tap_on(scheduler, runner_id, screen, part):
    data = next(key.data for row in screen.buttons for key in row if part in key.label)
    handle(scheduler, runner_id, Event("button", data))


async def test_snooze_sends_the_reminder_again_an_hour_later_once(setup):
    clock, phones, scheduler = setup
    await run_until(scheduler, clock, datetime(2027, 3, 10, 20, 1, tzinfo=UTC))
    assert len(phones.reminders(103)) == 1
    assert scheduler.engine.claim_due(103) == []  # nothing more due today
    reminder = phones.screens[-1]
    tap_on(scheduler, 103, reminder, "Snooze")
    tap_on(scheduler, 103, reminder, "Snooze")  # twice: still one snooze
    await run_until(scheduler, clock, datetime(2027, 3, 10, 23, 0, tzinfo=UTC))
    assert [m.strftime("%H:%M") for m in phones.reminders(103)] == ["20:00", "21:01"]


async def test_pause_stops_reminders_and_resume_brings_them_back(setup):
    clock, phones, scheduler = setup
    handle(scheduler, 103, Event("command", "pause"))
    await run_until(scheduler, clock, datetime(2027, 3, 12, 12, tzinfo=UTC))
    assert phones.received[103] == []
    handle(scheduler, 103, Event("command", "resume"))
    await run_until(scheduler, clock, datetime(2027, 3, 13, 12, tzinfo=UTC))
    assert [m.date() for m in phones.reminders(103)] == [date(2027, 3, 12)]
