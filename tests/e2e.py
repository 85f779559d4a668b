"""End-to-end helpers: the story helpers (from `testkit.story`, for either transport) and
`BotProcess`, which runs `achilles-coach run` as its own OS process (forked from a parent that
has imported the bot, `tests/warm_bot.py`) against a `LocalBotApi`, so that a test can kill it
with SIGKILL: polling, or with `webhook=True` a webhook on 127.0.0.1 that the local server posts
the updates to.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
from pathlib import Path

from testkit.http import LocalBotApi
from testkit.story import (
    follow,
    full_label,
    make_coach,
    quiet,
    real_time,
    running_bot,
    say,
    seen_text,
    tap,
)
from tests import warm_bot

__all__ = [
    "BotProcess", "follow", "free_port", "full_label", "make_coach", "quiet", "real_time",
    "running_bot", "say", "seen_text", "tap",
]

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "e2e-webhook_secret"


async def until(condition, failure: str, timeout: float) -> None:
    """Wait (polling) until `condition()` holds; fails with `failure` after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, failure
        await asyncio.sleep(0.02)


def free_port() -> int:
    """A port nothing listens on now (the OS's pick), for a webhook on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def accepts_connections(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


class BotProcess:
    """`achilles-coach run` against the local server, in its own process: polling, or with
    `webhook=True` `run --webhook`, listening on 127.0.0.1 at `port` (the same one after a
    restart, as a real deployment's URL stays the same)."""

    def __init__(self, api: LocalBotApi, data_dir: Path, *, webhook: bool = False,
                 env: dict[str, str] | None = None) -> None:
        self.api = api
        self.data_dir = data_dir
        self.env = env or {}  # more settings (a clinic file, the chat pace)
        self.port = free_port() if webhook else None
        self.process: multiprocessing.Process | None = None
        self.log_path = data_dir.with_name(f"{data_dir.name}-bot.log")  # beside the data, not in it

    @property
    def webhook_url(self) -> str | None:
        return None if self.port is None else f"http://127.0.0.1:{self.port}/telegram"

    def log(self) -> str:
        """What the process started last wrote to its standard error."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def start(self) -> None:
        env = dict(
            os.environ,
            TELEGRAM_BOT_TOKEN=self.api.token,
            TELEGRAM_API_BASE_URL=self.api.base_url,
            ACHILLES_DATA_DIR=str(self.data_dir),
            **self.env,
        )
        argv = ["run"]
        if self.webhook_url is not None:
            argv += ["--webhook", self.webhook_url]
            env.update(ACHILLES_WEBHOOK_LISTEN="127.0.0.1", ACHILLES_WEBHOOK_PORT=str(self.port),
                       TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)
        # Started: it has asked for updates (a getUpdates, or setWebhook) since this start.
        asks_for_updates = "getUpdates" if self.webhook_url is None else "setWebhook"
        asked_before = len(self.api.calls_of(asks_for_updates))
        self.process = warm_bot.start(argv, env, ROOT, self.log_path)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not await self._started(asks_for_updates, asked_before):
            if not self.process.is_alive():
                raise AssertionError(f"bot exited: {self.log()}")
            if loop.time() > deadline:
                self.kill()
                raise AssertionError(f"bot did not call {asks_for_updates} within 20 s; its log ends:\n"
                                     f"{self.log()[-2000:]}")
            await asyncio.sleep(0.02)

    async def _started(self, asks_for_updates: str, asked_before: int) -> bool:
        if len(self.api.calls_of(asks_for_updates)) <= asked_before:
            return False
        return self.port is None or await accepts_connections(self.port)

    def pause(self) -> None:
        """SIGSTOP: the process is frozen (a post to its webhook waits unanswered) until it is
        killed or stopped."""
        self._signal(signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, as when a machine loses power."""
        assert self.process is not None
        self.process.kill()
        self.process.join(timeout=10)

    async def stop(self, how: signal.Signals = signal.SIGINT) -> int | None:
        """A graceful stop (Ctrl-C, or SIGTERM as a service manager sends); the exit status, or
        None if it was still running 10 s later and had to be killed. The wait leaves the event
        loop free: the bot may still call the local server on its way out."""
        if self.process is None:
            return None
        if self.process.is_alive():
            self._signal(how)
            self._signal(signal.SIGCONT)  # a paused bot takes the signal now
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while self.process.is_alive():
                if loop.time() > deadline:
                    self.kill()
                    return None
                await asyncio.sleep(0.02)
        return self.process.exitcode

    def _signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        if self.process.is_alive():
            os.kill(self.process.pid, number)
