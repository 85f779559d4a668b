"""End-to-end helpers: the story helpers (from `testkit.story`, for either transport) and
`BotProcess`, which runs `python -m bot run` as its own OS process against a `LocalBotApi`, as a
user would, so that a test can kill it with SIGKILL: polling, or with `webhook=True` a webhook
on 127.0.0.1 that the local server posts the updates to.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
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
    """`python -m bot run` against the local server, in its own process: polling, or with
    `webhook=True` `run --webhook`, listening on 127.0.0.1 at `port` (the same one after a
    restart, as a real deployment's URL stays the same)."""

    def __init__(self, api: LocalBotApi, data_dir: Path, *, webhook: bool = False,
                 env: dict[str, str] | None = None) -> None:
        self.api = api
        self.data_dir = data_dir
        self.env = env or {}  # more settings (a clinic file, the chat pace)
        self.port = free_port() if webhook else None
        self.process: subprocess.Popen | None = None

    @property
    def webhook_url(self) -> str | None:
        return None if self.port is None else f"http://127.0.0.1:{self.port}/telegram"

    async def start(self) -> None:
        env = dict(
            os.environ,
            TELEGRAM_BOT_TOKEN=self.api.token,
            TELEGRAM_API_BASE_URL=self.api.base_url,
            ACHILLES_DATA_DIR=str(self.data_dir),
            **self.env,
        )
        command = [sys.executable, "-m", "bot", "run"]
        if self.webhook_url is not None:
            command += ["--webhook", self.webhook_url]
            env.update(ACHILLES_WEBHOOK_LISTEN="127.0.0.1", ACHILLES_WEBHOOK_PORT=str(self.port),
                       TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)
        # Started: it has asked for updates (a getUpdates, or setWebhook) since this start.
        asks_for_updates = "getUpdates" if self.webhook_url is None else "setWebhook"
        asked_before = len(self.api.calls_of(asks_for_updates))
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not await self._started(asks_for_updates, asked_before):
            if self.process.poll() is not None:
                raise AssertionError(f"bot exited: {self.process.stderr.read().decode()}")
            if loop.time() > deadline:
                self.kill()
                log = self.process.stderr.read().decode()[-2000:]
                raise AssertionError(f"bot did not call {asks_for_updates} within 20 s; its log ends:\n{log}")
            await asyncio.sleep(0.05)

    async def _started(self, asks_for_updates: str, asked_before: int) -> bool:
        if len(self.api.calls_of(asks_for_updates)) <= asked_before:
            return False
        return self.port is None or await accepts_connections(self.port)

    def pause(self) -> None:
        """SIGSTOP: the process is frozen (a post to its webhook waits unanswered) until it is
        killed or stopped."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, as when a machine loses power."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    async def stop(self, how: signal.Signals = signal.SIGINT) -> int | None:
        """A graceful stop (Ctrl-C, or SIGTERM as a service manager sends); the exit status, or
        None if it was still running 10 s later and had to be killed. The wait leaves the event
        loop free: the bot may still call the local server on its way out."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(how)
            self.process.send_signal(signal.SIGCONT)  # a paused bot takes the signal now
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while self.process.poll() is None:
                if loop.time() > deadline:
                    self.kill()
                    return None
                await asyncio.sleep(0.02)
        return self.process.returncode
