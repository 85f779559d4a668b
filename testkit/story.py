"""Story helpers: our bot against the simulated Telegram, played as a user would.

The same helpers work on both transports: `running_bot(telegram, coach)` runs the real
Application (from `bot.telegram_app.build_application`) in-process when given a `FakeTelegram`,
and polling over HTTP when given a started `LocalBotApi`. `say`, `tap` and `follow` return once
the bot has answered; `seen_text` is what the user last read.

    async def test_consent_leads_to_the_safety_screen(telegram, tmp_path):  # telegram = FakeTelegram()
        async with running_bot(telegram, make_coach(tmp_path / "data")):
            ana = telegram.user(1001, "Ana")
            await say(ana, "/start")
            await tap(ana, "I understand and agree")
            assert "Safety first" in seen_text(ana, 1) and "None of these" in ana.inbox[-1].buttons
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from telegram.ext import Application

from bot.telegram_app import build_application, on_start, serve
from conversations.clinic import load_clinic
from conversations.engine import Engine
from conversations.protocol import default_protocol
from storage import open_store
from testkit.http import LocalBotApi
from testkit.inprocess import BASE_URL, InProcessRequest, running_in_process
from testkit.telegram import FakeTelegram, FakeUser

A_MONDAY_MORNING = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def real_time() -> datetime:
    """The clock of a bot run as its own process: for a reference run or data it will compare with."""
    return datetime.now(UTC)


def make_coach(
    data_dir: Path, now: Callable[[], datetime] | None = None, admins: tuple[int, ...] = ()
) -> Engine:
    """The engine on a data dir, with the example clinic (`admins` as its admin ids).

    Without `now`, the engine's clock stands still on a Monday morning: what a plan shows depends
    on the weekday (strength days, rest days), and a story must read the same every day it runs."""
    clinic = load_clinic().model_copy(update={"admin_ids": list(admins)})
    return Engine(open_store(data_dir), clinic, default_protocol(), now or (lambda: A_MONDAY_MORNING))


@contextlib.asynccontextmanager
async def running_bot(telegram: FakeTelegram, coach: Engine, *, rate_limited: bool = False
                      ) -> AsyncIterator[Application]:
    """The bot, started as `achilles-coach run` would start it, for the block."""
    if isinstance(telegram, LocalBotApi):
        application = build_application(telegram.token, telegram.base_url, coach, rate_limited=rate_limited)
        async with serving(application):
            yield application
    else:
        application = build_application(telegram.token, BASE_URL, coach, rate_limited=rate_limited,
                                        request=InProcessRequest(telegram))
        async with running_in_process(telegram, application, on_start):
            yield application


@contextlib.asynccontextmanager
async def serving(application: Application, **options) -> AsyncIterator[Application]:
    """`bot.telegram_app.serve` (our polling, or a webhook with `webhook=`) for the block."""
    task = asyncio.create_task(serve(application, poll_timeout=1, **options))
    for _ in range(2000):  # until it is up (or failed)
        if application.running or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()  # its error, if it failed to start
    try:
        yield application
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def quiet(telegram: FakeTelegram, *, chat_id: int | None = None, timeout: float = 10.0) -> None:
    """Until the bot has done everything it will do for what the users did so far."""
    await telegram.settle(chat_id, timeout=timeout)


def full_label(user: FakeUser, part: str) -> str:
    """The label of the button containing `part` in the latest message with buttons."""
    with_buttons = [m for m in user.api.current_messages(user.id) if m.inline_keyboard]
    buttons = with_buttons[-1].buttons if with_buttons else []
    for label in buttons:
        if part in label:
            return label
    raise AssertionError(f"no button containing {part!r}; buttons: {buttons}")


async def tap(user: FakeUser, part: str, replies: int = 1) -> None:
    """Tap the button containing `part`; return once the bot has answered (an edit counts)."""
    await user.tap(full_label(user, part), count=replies)
    await quiet(user.api, chat_id=user.id)


async def say(user: FakeUser, text: str) -> None:
    user.send(text)
    await user.api.wait_for_message(user.id, timeout=5)
    await quiet(user.api, chat_id=user.id)


async def follow(user: FakeUser, script: list[tuple[str, str]]) -> None:
    """Steps of ("tap", part of a label) or ("say", text), each answered before the next."""
    for action, value in script:
        await (tap(user, value) if action == "tap" else say(user, value))


def seen_text(user: FakeUser, last: int = 4) -> str:
    """The user's last `last` messages from the bot, as one text."""
    return "\n".join(m.text or "" for m in user.inbox[-last:])
