"""End-to-end helpers: the story helpers (from `testkit.story`, for either transport) and
`BotProcess`, which runs `python -m bot run` as its own OS process against a `LocalBotApi`, as a
user would, so that a test can kill it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from testkit.http import LocalBotApi
from testkit.story import follow, full_label, make_coach, quiet, running_bot, say, seen_text, tap

__all__ = [
    "BotProcess", "follow", "full_label", "make_coach", "quiet", "running_bot", "say", "seen_text", "tap",
]

ROOT = Path(__file__).resolve().parent.parent


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
