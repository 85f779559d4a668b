"""The bot in webhook mode, against the simulated Telegram over HTTP (`LocalBotApi`), which posts
each update to the bot's URL with the secret token, one at a time, until the bot answers 2xx.

In-process (`serving(..., webhook=...)`): a runner's conversation goes through the webhook; a post
without the secret, or with a wrong one, is refused (403) and changes nothing; a body that is
not an update is a bad request (400).

As its own process (`BotProcess(..., webhook=True)`, `achilles-coach run --webhook`): SIGTERM
with an update on its way stops the bot cleanly and loses nothing; SIGKILL at seeded random
moments (just after a 200, while a post waits for its answer, anywhere) loses nothing either:
an update answered 200 was kept and is applied after the restart, one that was not is posted
again by Telegram and applied, and none is applied or answered twice.
A kill in the middle of a write may leave a temp file (in inbox/, say); the restarted bot
removes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from bot.telegram_app import SECRET_HEADER, build_application
from conversations.engine import Engine
from testkit.http import LocalBotApi, WebhookDelivery
from testkit.story import serving
from testkit.telegram import FakeTelegram
from tests.e2e import (
    BotProcess,
    free_port,
    make_coach,
    quiet,
    real_time,
    running_bot,
    say,
    seen_text,
    tap,
    until,
)
from tests.runner_script import TYPICAL_RUNNER
from tests.test_crash import (
    Point,
    Replies,
    chat_of,
    every_file_parses,
    kept_in_the_inbox,
    position,
    push,
    snapshot,
    stored,
)

SECRET = "in-process_webhook-secret"
ANA, BEN = 1001, 1002
REPLY_TIMEOUT = 30.0
WELCOME = "👋 Welcome to Achilles Coach"
FORGED_IDS = iter(range(900_000, 901_000))  # far from the simulated Telegram's own update ids


@contextlib.asynccontextmanager
async def webhook_bot(api: LocalBotApi, coach: Engine) -> AsyncIterator[str]:
    """The bot served with a webhook on 127.0.0.1, for the block; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    application = build_application(api.token, api.base_url, coach, rate_limited=False)
    async with serving(application, webhook=url, listen="127.0.0.1", port=port, secret=SECRET):
        for _ in range(1000):  # the bot sets it once it listens
            if api.webhook is not None:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the bot did not set its webhook within 10 s")
        yield url


def command_update(user_id: int, text: str) -> dict:
    """A private message starting with a command, as Telegram would post it (a fresh update id)."""
    user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
    message = {"message_id": 1, "date": int(time.time()), "from": user, "text": text,
               "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
               "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}
    return {"update_id": next(FORGED_IDS), "message": message}


async def post(url: str, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as answer:
        return answer.status


def stored_file(data: Path, runner_id: int) -> str | None:
    path = data / "runners" / f"{runner_id}.json"
    return path.read_text() if path.exists() else None


def inbox_files(data: Path) -> list[str]:
    return sorted(path.read_text() for path in (data / "inbox").glob("*.json"))


async def test_a_runner_goes_from_start_to_the_safety_screen_through_the_webhook(bot_api, tmp_path):
    async with webhook_bot(bot_api, make_coach(tmp_path / "data")):
        ana = bot_api.user(ANA, "Ana")
        await say(ana, "/start")
        await tap(ana, "I understand and agree")
        assert "Safety first" in seen_text(ana, 1) and "None of these" in ana.inbox[-1].buttons
    assert not bot_api.calls_of("getUpdates")  # the webhook brought both, not polling
    assert [d.status for d in bot_api.deliveries] == [200, 200]


async def test_only_a_post_with_the_right_secret_is_handled(bot_api, tmp_path):
    data = tmp_path / "data"
    async with webhook_bot(bot_api, make_coach(data)) as url:
        ana = bot_api.user(ANA, "Ana")
        await say(ana, "/start")
        await tap(ana, "I understand and agree")  # consented: from here on her record is kept
        record, inbox, seen = stored_file(data, ANA), inbox_files(data), len(ana.inbox)
        forged = json.dumps(command_update(ANA, "/start")).encode()

        wrong_secrets = [None, "", "a-wrong-secret", SECRET[:-1], "wrong-sécret"]
        assert [await post(url, forged, secret) for secret in wrong_secrets] == [403] * len(wrong_secrets)
        assert (stored_file(data, ANA), inbox_files(data)) == (record, inbox)

        # The same update with the secret is new to the bot: the refused posts left no trace.
        assert await post(url, forged, SECRET) == 200
        await bot_api.wait_for_message(ANA, since=seen)
        await quiet(bot_api, chat_id=ANA)
        assert len(ana.inbox) == seen + 1
        assert "Picking up where you left off" in seen_text(ana, 1)


async def test_a_body_that_is_not_an_update_is_a_bad_request(bot_api, tmp_path):
    async with webhook_bot(bot_api, make_coach(tmp_path / "data")) as url:
        not_updates = [b"not json", b"[]", b"null", b'"text"', b'{"hello": "world"}',
                       b'{"update_id": "one"}', b'{"update_id": 900999, "message": "hi"}']
        assert [await post(url, body, SECRET) for body in not_updates] == [400] * len(not_updates)

        bot_api.register_chat(BEN)  # the bot still answers a real update
        assert await post(url, json.dumps(command_update(BEN, "/start")).encode(), SECRET) == 200
        await bot_api.wait_for_message(BEN)
        assert "Welcome to Achilles Coach" in bot_api.messages_to(BEN)[-1].text


# ---------------------------------------------------------------- the bot in its own process

async def test_sigterm_with_an_update_on_its_way_stops_cleanly_and_loses_nothing(bot_api, tmp_path):
    bot = BotProcess(bot_api, tmp_path / "data", webhook=True)
    await bot.start()
    try:
        ana = bot_api.user(ANA)
        await say(ana, "/start")
        bot.pause()  # what Telegram posts now waits for the bot
        seen = bot_api.mark(ANA)
        ana.send("/help")
        await a_post_waiting(bot_api)
        assert await bot.stop(signal.SIGTERM) == 0
        assert "Traceback" not in bot.log()

        await bot.start()  # Telegram posts again what the stopped bot did not take
        await bot_api.wait_for_message(ANA, since=seen)
        await everything_delivered(bot_api)
        await quiet(bot_api, chat_id=ANA)
        assert len(ana.inbox) == seen + 1  # one answer to /help, from one bot or the other
        assert "/today" in seen_text(ana, 1)
    finally:
        bot.kill()


async def a_post_waiting(api: LocalBotApi) -> WebhookDelivery:
    """A post to the webhook that has no answer yet (there is one, or the next one)."""
    waiting = [delivery for delivery in api.deliveries if delivery.status is None]
    return waiting[-1] if waiting else await api.wait_for_delivery(lambda d: d.status is None)


async def everything_delivered(api: LocalBotApi) -> None:
    await until(lambda: not api.pending_updates, "Telegram still holds updates the bot did not take",
                REPLY_TIMEOUT)


# ---------------------------------------------------------------- killed at random moments

SEED = 3  # picks the moment of each round's kill
RUNNERS = (7101, 7102, 7103)
SCRIPT = [("say", "/start"), ("tap", "I understand and agree"), *TYPICAL_RUNNER[:3]]
# How each round's kill lands: just as Telegram got its 200 (received, kept, most likely not yet
# applied or answered); while a post waits for its answer (the bot frozen, so it never answers);
# anywhere within a second of work (receiving, saving, sending).
KILLS = ("on_a_200", "post_unanswered", "anywhere")


async def reference_points(data_dir: Path) -> list[Point]:
    """The script once, in-process, nothing going wrong: the record after each step."""
    coach = make_coach(data_dir, real_time)
    telegram = FakeTelegram()
    points = []
    async with running_bot(telegram, coach):
        for action, value in SCRIPT:
            push(telegram, 1, action, value)
            await telegram.wait_for_message(1)
            points.append(Point(snapshot(coach.store.load(1)), on_start=""))
    return points


class Runner:
    def __init__(self, api: LocalBotApi, runner_id: int) -> None:
        self.api = api
        self.id = runner_id
        self.sent: list[int] = []  # the update id of each script step sent, in order

    async def play(self, replies: Replies) -> None:
        """Answers, each after the bot's reply to the one before, to the end of the script."""
        while len(self.sent) < len(SCRIPT):
            action, value = SCRIPT[len(self.sent)]
            mark = push(self.api, self.id, action, value)
            self.sent.append(self.api.updates[-1]["update_id"])
            await self.api.wait_for_message(self.id, since=mark, timeout=REPLY_TIMEOUT)
            replies.one_more()


async def kill(bot: BotProcess, runners: list[Runner], how: str, rng: random.Random, newcomer: int) -> int:
    """Runners play until the kill; returns how many posts Telegram had made by then."""
    api = bot.api
    replies = Replies()
    players = asyncio.gather(*(runner.play(replies) for runner in runners))
    if how == "on_a_200":
        confirmed, target = itertools.count(1), rng.randint(1, len(runners) + 1)
        moment = asyncio.ensure_future(api.wait_for_delivery(
            lambda d: d.delivered and next(confirmed) == target, timeout=REPLY_TIMEOUT))
    else:
        moment = asyncio.ensure_future(replies.reach(rng.randint(1, len(runners) + 1)))
    await asyncio.wait({players, moment}, return_when=asyncio.FIRST_COMPLETED)
    if how == "post_unanswered":
        bot.pause()
        api.send_message(newcomer, "/start")  # a post to wait for, whether or not a runner sends one
        await a_post_waiting(api)
    elif how == "anywhere":
        await asyncio.sleep(rng.uniform(0, 1.0))
    bot.kill()
    for task in (players, moment):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return len(api.deliveries)


def steps_confirmed(api: LocalBotApi, runner: Runner) -> list[int]:
    """The runner's script steps whose update Telegram got a 200 for."""
    delivered = {delivery.update_id for delivery in api.deliveries if delivery.delivered}
    return [step for step, update_id in enumerate(runner.sent) if update_id in delivered]


async def test_bot_killed_at_random_moments_applies_every_update_once(bot_api, tmp_path):
    """After each kill: what got its 200 is on disk (applied, or in the inbox). After the restart,
    once Telegram holds nothing back: every answer sent is applied, once, and each chat got one
    message for each update the new bot handled (kept by the old one, or new to it), none for
    one Telegram posted again that the old bot had already received."""
    points = await reference_points(tmp_path / "reference")
    rng = random.Random(SEED)
    data = tmp_path / "data"
    runners = [Runner(bot_api, runner_id) for runner_id in RUNNERS]
    bot = BotProcess(bot_api, data, webhook=True)
    await bot.start()
    try:
        for round_, how in enumerate(KILLS):
            newcomer = 7200 + round_
            posted_before_kill = await kill(bot, runners, how, rng, newcomer)

            leftovers = every_file_parses(data)
            kept, received = kept_in_the_inbox(data)
            kept_ids = {update["update_id"] for update in kept}
            for runner in runners:  # whatever got its 200 is on disk: applied, or in the inbox
                at = position(points, stored(data, runner.id))
                late = [step for step in steps_confirmed(bot_api, runner) if step > at]
                lost = [step for step in late if runner.sent[step] not in kept_ids]
                assert not lost, f"{how}: runner {runner.id} lost steps {lost}, confirmed to Telegram"
            marks = {chat: bot_api.mark(chat) for chat in (*RUNNERS, newcomer)}

            await bot.start()
            assert not [path for path in leftovers if path.exists()], "start-up left temp files"
            await everything_delivered(bot_api)
            by_id = {update["update_id"]: update for update in bot_api.updates}
            delivered_again = {d.update_id for d in bot_api.deliveries[posted_before_kill:] if d.delivered}
            owed = Counter(chat_of(update) for update in kept)  # handed over again from the inbox
            owed.update(chat_of(by_id[update_id]) for update_id in delivered_again - received)
            for chat, count in owed.items():
                await bot_api.wait_for_message(chat, since=marks[chat], count=count, timeout=REPLY_TIMEOUT)
            await quiet(bot_api)

            for runner in runners:  # every answer sent is applied, once (kept, or posted again)
                at = position(points, stored(data, runner.id))
                assert at == len(runner.sent) - 1, f"{how}: runner {runner.id}"
            if how == "post_unanswered":
                assert [m.text.split("\n")[0] for m in bot_api.messages_to(newcomer)] == [WELCOME]
            for chat, mark in marks.items():  # what Telegram posted again brought no second reply
                assert bot_api.mark(chat) - mark == owed[chat], f"{how}: chat {chat}"

        await asyncio.gather(*(runner.play(Replies()) for runner in runners))
        for runner in runners:
            assert position(points, stored(data, runner.id)) == len(SCRIPT) - 1
        every_file_parses(data)
    finally:
        bot.kill()
