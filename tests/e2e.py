"""Helpers for end-to-end tests: our bot, real python-telegram-bot, the local Bot API server.

`running_bot` runs the Application in this process; `BotProcess` runs `achilles-coach run` as a
separate OS process, as a user would, so that a test can kill it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from bot.telegram_app import build_application
from conversations.clinic import load_clinic
from conversations.engine import Engine
from conversations.protocol import default_protocol
from storage import open_store
from tests.local_bot_api import FakeUser, LocalBotApi, polling

ROOT = Path(__file__).resolve().parent.parent


def make_coach(data_dir: Path, now=None, admins: tuple[int, ...] = ()) -> Engine:
    clock = now or (lambda: datetime.now(UTC))
    clinic = load_clinic().model_copy(update={"admin_ids": list(admins)})
    return Engine(open_store(data_dir), clinic, default_protocol(), clock)


@contextlib.asynccontextmanager
async def running_bot(api: LocalBotApi, coach: Engine, *, rate_limited: bool = False
                      ) -> AsyncIterator[object]:
    application = build_application(api.token, api.base_url, coach, rate_limited=rate_limited)
    async with polling(application):
        await application.post_init(application)  # run_polling would call it; polling() does not
        yield application


async def quiet(
    api: LocalBotApi, *, chat_id: int | None = None, settle: float = 0.05, timeout: float = 10.0
) -> None:
    """Wait until every update is delivered and the bot has made no call for `settle` seconds
    (with `chat_id`: sent nothing more to that chat, whatever it does for others)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = None
    while loop.time() < deadline:
        if chat_id is None:
            snapshot = (sum(1 for call in api.calls if call.method != "getUpdates"), api.pending_updates)
        else:
            snapshot = (len(api.messages_to(chat_id)), 0)
        if snapshot == seen and snapshot[1] == 0:
            return
        seen = snapshot
        await asyncio.sleep(settle)
    raise AssertionError(f"the bot did not go quiet within {timeout} s")


def full_label(user: FakeUser, part: str) -> str:
    """The visible text of the latest button that contains `part`."""
    with_keyboard = [m for m in user.api.current_messages(user.id) if m.inline_keyboard]
    buttons = with_keyboard[-1].buttons if with_keyboard else []
    for label in buttons:
        if part in label:
            return label
    raise AssertionError(f"no button containing {part!r}; buttons: {buttons}")


async def tap(user: FakeUser, part: str, replies: int = 1) -> None:
    """Tap the button containing `part`; wait for the bot's reply (an edit counts)."""
    await user.tap(full_label(user, part), count=replies)
    await quiet(user.api, chat_id=user.id)


async def say(user: FakeUser, text: str) -> None:
    user.send(text)
    await user.api.wait_for_message(user.id, timeout=5)
    await quiet(user.api, chat_id=user.id)


async def follow(user: FakeUser, script) -> None:
    for action, value in script:
        await (tap(user, value) if action == "tap" else say(user, value))


def seen_text(user: FakeUser, last: int = 4) -> str:
    return "\n".join(m.text or "" for m in user.inbox[-last:])


class BotProcess:
    """`python -m bot run` against the local server, in its own process."""

    def __init__(self, api: LocalBotApi, data_dir: Path) -> None:
        self.api = api
        self.data_dir = data_dir
        self.process: subprocess.Popen | None = None

    async def start(self) -> None:
        env = dict(
            os.environ,
            TELEGRAM_BOT_TOKEN=self.api.token,
            TELEGRAM_API_BASE_URL=self.api.base_url,
            ACHILLES_DATA_DIR=str(self.data_dir),
        )
        polls_before = len(self.api.calls_of("getUpdates"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while len(self.api.calls_of("getUpdates")) <= polls_before:
            if self.process.poll() is not None:
                raise AssertionError(f"bot exited: {self.process.stderr.read().decode()}")
            if loop.time() > deadline:
                raise AssertionError("bot did not start polling within 20 s")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, as when a machine loses power."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
