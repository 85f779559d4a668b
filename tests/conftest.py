"""Shared fixtures: the simulated Telegram on either transport, and the bot's pauses recorded."""

import os
from collections.abc import AsyncIterator

import pytest

import bot.telegram_app
from testkit.http import LocalBotApi
from testkit.telegram import FakeTelegram


@pytest.hookimpl(optionalhook=True)  # xdist's: absent when it is off (-p no:xdist)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: a worker more than the cores. The tests with a bot in its own process spend
    much of their time waiting on it; with one worker a core, the cores sat idle 40% of a run
    (2 cores: 47 s with two workers, 38 s with three)."""
    return (os.cpu_count() or 1) + 1


@pytest.fixture
def telegram() -> FakeTelegram:
    """The simulated Telegram in-process: `running_bot(telegram, coach)` hands the bot's requests
    straight to it and each `say`/`tap` returns once the bot has finished answering."""
    return FakeTelegram()


@pytest.fixture
async def bot_api() -> AsyncIterator[LocalBotApi]:
    """The simulated Telegram over HTTP on 127.0.0.1, for a bot that polls it (or another process)."""
    async with LocalBotApi() as api:
        yield api


@pytest.fixture(autouse=True)
def pauses(monkeypatch) -> list[float]:
    """The waits the bot asked for itself (retry backoff, per-chat pacing), recorded instead of
    slept: tests assert them rather than spend them. A bot in another process still sleeps."""
    asked: list[float] = []
    real_sleep = bot.telegram_app.asyncio.sleep

    async def record(seconds: float) -> None:
        asked.append(seconds)
        await real_sleep(0)  # still a point where other tasks run

    monkeypatch.setattr(bot.telegram_app, "sleep", record)
    return asked
