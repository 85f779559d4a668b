"""The bot killed with SIGKILL at random moments while runners answer the questionnaire.

The bot runs as its own process (`achilles-coach run`, `tests.e2e.BotProcess`). Several
runners answer at once, each waiting for the bot's reply (the next question) before answering
again: that reply is the bot's acknowledgement that the answer is kept. A seeded generator picks each kill
moment: after the k-th reply, plus a jitter so that the kill lands anywhere in the bot's work
(loading, saving, waiting to send, sending). Then the bot is restarted, and the runners go on.

After every kill: each data file parses, every acknowledged answer is on disk (and at most the
one answer in flight beyond it), temp files a killed save left behind are gone once the bot is
back, and /start shows each runner "Picking up where you left off" with the question they were
on; answering it continues the flow, to the end of the script.

The new bot hands over again what its inbox kept, and Telegram delivers again what the killed
bot had not confirmed (the local server does the same); the inbox drops those it had already
received. Each update handed over gets one message (its reply, or the current question again
when it had already been applied), and the runners wait for those before sending /start, so
that its answer is the last message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from conversations.replies import Event
from storage.inbox import done_marks
from testkit.http import LocalBotApi
from testkit.telegram import FakeTelegram
from tests.e2e import ROOT, BotProcess, full_label, make_coach, real_time, running_bot, until
from tests.runner_script import TYPICAL_RUNNER, onboard_in_engine

SEED = 6
KILLS = 3
RUNNERS = (7001, 7002, 7003, 7004)
SCRIPT = [("say", "/start"), ("tap", "I understand and agree"), *TYPICAL_RUNNER[:10]]
REPLY_TIMEOUT = 30.0
RESUMED = "Picking up where you left off"


@dataclass(frozen=True)
class Point:
    """What the script leaves after one step: on disk, and what /start then shows."""

    snapshot: str | None  # the record's state and answers; None: nothing stored yet
    on_start: str  # the text of the bot's answer to /start at this point


def snapshot(record: dict | None) -> str | None:
    if record is None:
        return None
    return json.dumps([record["state"], record.get("answers", {})], sort_keys=True)


def push(api: FakeTelegram, runner_id: int, action: str, value: str) -> int:
    """Say or tap (in the latest message with buttons); returns the chat's mark before it."""
    mark = api.mark(runner_id)
    if action == "say":
        api.send_message(runner_id, value)
    else:
        question = [m for m in api.current_messages(runner_id) if m.inline_keyboard][-1]
        button = question.button(full_label(api.user(runner_id), value))
        api.press_button(runner_id, question.message_id, button["callback_data"])
    return mark


async def step(api: FakeTelegram, runner_id: int, action: str, value: str) -> str:
    mark = push(api, runner_id, action, value)
    replies = await api.wait_for_message(runner_id, since=mark, timeout=REPLY_TIMEOUT)
    return replies[-1].text or ""


async def reference_run(data_dir: Path) -> list[Point]:
    """The script once, in-process and with nothing going wrong."""
    coach = make_coach(data_dir, real_time)
    points = []
    api = FakeTelegram()
    async with running_bot(api, coach):
        for action, value in SCRIPT:
            await step(api, 1, action, value)
            points.append(Point(snapshot(coach.store.load(1)), await step(api, 1, "say", "/start")))
    return points


def stored(data_dir: Path, runner_id: int) -> dict | None:
    """The runner's record, read straight from the file (opening a store would tidy the dir)."""
    path = data_dir / "runners" / f"{runner_id}.json"
    return json.loads(path.read_text())["profile"]["1"] if path.exists() else None


def position(points: list[Point], record: dict | None) -> int:
    """The index of the last script step the record reflects."""
    if record is None:
        return 0
    matches = [index for index, point in enumerate(points) if point.snapshot == snapshot(record)]
    assert matches, f"a record no step of the script leads to: {snapshot(record)}"
    return matches[-1]


def every_file_parses(data_dir: Path) -> list[Path]:
    """json.loads every data file; returns the temp files of interrupted saves. (The wakeup
    index's entries are empty files: their names are the data.)"""
    leftovers = []
    for path in data_dir.rglob("*"):
        if path.is_file() and path.name.endswith(".tmp"):
            leftovers.append(path)
        elif path.is_file() and path.suffix == ".json":
            json.loads(path.read_text())
    assert not list(data_dir.rglob("*.corrupt")), "a data file was unreadable and moved aside"
    return leftovers


class Runner:
    def __init__(self, api: LocalBotApi, runner_id: int) -> None:
        self.api = api
        self.id = runner_id
        self.next = 0  # the script step to take next: all before it are acknowledged
        self.in_flight: int | None = None  # the chat's mark when step `next` was sent, unanswered

    def acknowledged(self) -> int:
        """Script steps the bot has answered (a reply may have come just before the kill)."""
        answered = self.in_flight is not None and self.api.mark(self.id) > self.in_flight
        return self.next + answered


class Replies:
    """Counts the replies runners receive; lets the killer wait for the k-th one."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Event()

    def one_more(self) -> None:
        self.count += 1
        self._changed.set()

    async def reach(self, count: int) -> None:
        while self.count < count:
            self._changed.clear()
            await self._changed.wait()


async def play(runner: Runner, replies: Replies) -> None:
    """The runner answers, one reply at a time, to the end of the script."""
    while runner.next < len(SCRIPT):
        action, value = SCRIPT[runner.next]
        runner.in_flight = push(runner.api, runner.id, action, value)
        await runner.api.wait_for_message(runner.id, since=runner.in_flight, timeout=REPLY_TIMEOUT)
        runner.next, runner.in_flight = runner.next + 1, None
        replies.one_more()


async def kill_at_a_random_moment(bot: BotProcess, runners: list[Runner], rng: random.Random) -> int:
    """Returns how many calls the server had received when the bot died."""
    replies = Replies()
    players = asyncio.gather(*(play(runner, replies) for runner in runners))
    kth = asyncio.ensure_future(replies.reach(rng.randint(1, 8)))
    await asyncio.wait({players, kth}, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.sleep(rng.uniform(0, 1.0))  # the jitter: anywhere within a second of work
    bot.kill()
    killed_at = len(bot.api.calls)
    for task in (players, kth):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return killed_at


def kept_in_the_inbox(data_dir: Path) -> tuple[list[dict], set[int]]:
    """At the kill: the updates the inbox holds (the new bot hands each over again) and the ids
    it had received (Telegram's redelivery of those is dropped)."""
    inbox = data_dir / "inbox"
    kept = [update for path in inbox.glob("[0-9]*.json") for update in json.loads(path.read_text())
            if update["update_id"] not in done_marks(path)]
    recent_file = inbox / "recent.json"
    recent = json.loads(recent_file.read_text())["ids"] if recent_file.exists() else []
    return kept, {*recent, *(update["update_id"] for update in kept)}


def chat_of(update: dict) -> int:
    return (update.get("message") or update["callback_query"])["from"]["id"]


async def restarted_bot_answered(api: LocalBotApi, killed_at: int, marks: dict[int, int],
                                 kept: list[dict], received: set[int]) -> None:
    """Wait until the new bot has answered what the killed one left: each update in the inbox,
    and each Telegram delivered again that the killed one never received (one message each)."""
    # The server's count; the new bot's second poll confirms them.
    await until(lambda: not api.pending_updates, "the restarted bot did not take the pending updates",
                REPLY_TIMEOUT)
    delivered_again = {update["update_id"]: update for call in api.calls[killed_at:]
                       if call.method == "getUpdates" and call.result for update in call.result}
    unanswered = kept + [update for update_id, update in delivered_again.items() if update_id not in received]
    for chat_id, count in Counter(chat_of(update) for update in unanswered).items():
        await api.wait_for_message(chat_id, since=marks[chat_id], count=count, timeout=REPLY_TIMEOUT)


async def test_bot_killed_at_random_moments_loses_no_acknowledged_answer(bot_api, tmp_path):
    points = await reference_run(tmp_path / "reference")
    rng = random.Random(SEED)
    data = tmp_path / "data"
    runners = [Runner(bot_api, runner_id) for runner_id in RUNNERS]
    bot = BotProcess(bot_api, data, env={"TELEGRAM_CHAT_PACE": "0"})  # the local server sets no limits
    await bot.start()
    try:
        for _ in range(KILLS):
            killed_at = await kill_at_a_random_moment(bot, runners, rng)

            leftovers = every_file_parses(data)
            kept, received = kept_in_the_inbox(data)
            marks = {runner.id: bot_api.mark(runner.id) for runner in runners}
            at_kill = {}
            for runner in runners:
                acknowledged = runner.acknowledged()
                at = position(points, stored(data, runner.id))
                assert at >= acknowledged - 1, f"runner {runner.id} lost step {at + 1}, acknowledged"
                assert at <= acknowledged, f"runner {runner.id} is ahead of what they answered"
                at_kill[runner.id] = at

            await bot.start()
            assert not [path for path in leftovers if path.exists()], "start-up left temp files"
            await restarted_bot_answered(bot_api, killed_at, marks, kept, received)
            for runner in runners:
                shown = await step(bot_api, runner.id, "say", "/start")
                at = position(points, stored(data, runner.id))
                # An answer the bot had received but not saved may be handled after the restart.
                assert at_kill[runner.id] <= at <= at_kill[runner.id] + 1
                assert shown == points[at].on_start
                assert shown.startswith(RESUMED) or at == 0
                runner.next, runner.in_flight = at + 1, None

        await asyncio.gather(*(play(runner, Replies()) for runner in runners))
        for runner in runners:
            assert position(points, stored(data, runner.id)) == len(SCRIPT) - 1
        assert every_file_parses(data) == []
    finally:
        bot.kill()  # nothing left to check; a graceful stop would wait out the long poll


# --- a burst: one chat floods, others answer and raise red flags, reminders fall due ----------

ADMIN = 9000
FLOODER = 7100
PARTICIPANTS = (7101, 7102, 7103)
FLOOD = 40  # messages the flooder sends at once, each round
CLINIC_FORM = "name: Spring\nstart: {start}\nweeks: 6\nplaces: 20"
REMINDER = "Good morning"
ALERT = "Red flag in Spring"


def clinic_file(tmp_path: Path) -> Path:
    """The example clinic, with an admin who runs a challenge."""
    text = (ROOT / "clinic.example.toml").read_text().replace("admin_ids = []", f"admin_ids = [{ADMIN}]")
    path = tmp_path / "clinic.toml"
    path.write_text(text)
    return path


def due_a_little_while_ago() -> str:
    """A reminder time today (UTC) that has just passed: due at the bot's first look."""
    now = datetime.now(UTC)
    return max(now - timedelta(minutes=5), now.replace(hour=0, minute=0)).strftime("%H:%M")


def prepare(data: Path) -> None:
    """Before the bot starts: a challenge with three participants and a flooder, each onboarded
    with a daily reminder that has just fallen due (the schedule index rebuilt at start-up)."""
    coach = make_coach(data, real_time, admins=(ADMIN,))
    coach.handle(ADMIN, Event("command", "newchallenge", CLINIC_FORM.format(start=date.today())))
    [code] = [challenge["code"] for challenge in coach.store.challenges()]
    reminder = [("say", due_a_little_while_ago()), ("tap", "UTC"), ("tap", "Done")]
    onboard_in_engine(coach, FLOODER, TYPICAL_RUNNER + reminder)
    for runner_id in PARTICIPANTS:
        onboard_in_engine(coach, runner_id, TYPICAL_RUNNER + reminder, invite=code, name=f"P{runner_id}")
    coach.store.close()
    shutil.rmtree(data / "wakeups")  # rebuilt at start-up, looking back for what is due


async def red_flag(api: LocalBotApi, runner_id: int) -> None:
    """A participant writes of a pop, then confirms it on the safety question."""
    mark = push(api, runner_id, "say", "I felt a pop in my heel")
    await api.wait_for_message(runner_id, since=mark, timeout=REPLY_TIMEOUT)
    mark = push(api, runner_id, "tap", "Yes, this happened")
    await api.wait_for_message(runner_id, since=mark, timeout=REPLY_TIMEOUT)


async def test_bot_killed_during_a_burst_applies_every_update_and_sends_nothing_twice(bot_api, tmp_path):
    data = tmp_path / "data"
    prepare(data)
    rng = random.Random(SEED)
    env = {"ACHILLES_CLINIC_FILE": str(clinic_file(tmp_path)), "TELEGRAM_CHAT_PACE": "0"}
    for chat in (ADMIN, FLOODER, *PARTICIPANTS):
        bot_api.register_chat(chat)  # they have talked to the bot before (over the engine, here)
    bot = BotProcess(bot_api, data, env=env)
    await bot.start()
    for chat in (FLOODER, *PARTICIPANTS):  # the reminders due go out at the first look, once
        await bot_api.wait_for_message(chat, since=0, timeout=REPLY_TIMEOUT)
    await everything_answered(bot_api)  # and whatever else was due (a Sunday's summary, a card)
    first_answer = bot_api.mark(FLOODER)
    flooded = 0
    try:
        for participant in PARTICIPANTS:  # three kills, each at a random moment of a burst
            mark = bot_api.mark(FLOODER)
            for index in range(FLOOD):
                bot_api.send_message(FLOODER, f"hello {flooded + index}")
            flooded += FLOOD
            work = asyncio.ensure_future(red_flag(bot_api, participant))
            # Killed mid-flood: the whole burst is confirmed to Telegram, only part of it answered.
            await bot_api.wait_for_message(FLOODER, since=mark, count=rng.randint(1, FLOOD // 2),
                                           timeout=REPLY_TIMEOUT)
            await asyncio.sleep(rng.uniform(0, 0.05))
            bot.kill()
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, AssertionError):
                await work
            await bot.start()
            await everything_answered(bot_api)
            if coach_state(data, participant) != "urgent":  # the kill came first: they say it again
                await red_flag(bot_api, participant)
                await everything_answered(bot_api)
        await alerts_arrived(bot_api, len(PARTICIPANTS))  # sent beside the replies, maybe a little later
        await everything_answered(bot_api)
    finally:
        bot.kill()

    answers = [m.text for m in bot_api.messages_to(FLOODER)[first_answer:] if m.text]
    assert FLOOD * 3 <= len(answers) <= FLOOD * 3 + 3, "each message answered (at most one again per kill)"
    alerts = [m.text for m in bot_api.messages_to(ADMIN) if ALERT in (m.text or "")]
    assert sorted(text.count("P7") for text in alerts) == [1, 1, 1]
    assert {f"P{p}" for p in PARTICIPANTS} == {name for text in alerts for name in re.findall(r"P7\d+", text)}
    for chat in (FLOODER, *PARTICIPANTS):  # three restarts, each looking for what is due: none again
        assert len([m for m in bot_api.messages_to(chat) if REMINDER in (m.text or "")]) == 1, chat


def coach_state(data: Path, runner_id: int) -> str | None:
    record = stored(data, runner_id)
    return record["state"] if record else None


async def alerts_arrived(api: LocalBotApi, count: int) -> None:
    """Until the clinic's admin holds `count` red-flag alerts (fails after REPLY_TIMEOUT)."""
    await until(lambda: len([m for m in api.messages_to(ADMIN) if ALERT in (m.text or "")]) >= count,
                "a red-flag alert never reached the clinic", REPLY_TIMEOUT)


async def everything_answered(api: LocalBotApi) -> None:
    """Until Telegram holds nothing back and the bot has gone quiet."""
    await until(lambda: not api.pending_updates, "the restarted bot did not take the pending updates",
                REPLY_TIMEOUT)
    await api.settle(timeout=REPLY_TIMEOUT, quiet=0.3)
