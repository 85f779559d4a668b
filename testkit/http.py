"""The simulated Telegram over real HTTP (aiohttp on 127.0.0.1): for a bot in another process
(the crash tests, the benches), for faults that only exist on a network (a dropped connection)
and for the polling smoke test. Point the bot at `api.base_url` with `api.token`.

    async with LocalBotApi() as api:
        ... build_application(api.token, api.base_url, coach) ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from testkit.telegram import FakeTelegram, Upload

# Fields python-telegram-bot sends as plain strings; every other form field is JSON.
_TEXT_FIELDS = frozenset({"text", "caption", "parse_mode", "callback_query_id", "language_code"})


class LocalBotApi(FakeTelegram):
    """`FakeTelegram` served over HTTP. The bot works on its own time here, so the waits are
    real waits (with timeouts), and `settle` guesses from silence."""

    realtime = True

    def __init__(self, *, host: str = "127.0.0.1", **options: Any) -> None:
        super().__init__(**options)
        self.host = host
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> LocalBotApi:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            self.close()  # long polls answer at once instead of holding up the shutdown
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> LocalBotApi:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For python-telegram-bot's base_url: it appends the token, then /method."""
        return f"http://{self.host}:{self.port}/bot"

    async def settle(self, chat_id: int | None = None, *, timeout: float = 10.0, quiet: float = 0.05) -> None:
        """Wait until every update is delivered and the bot has made no call for `quiet` seconds
        (with `chat_id`: has sent nothing more to that chat, whatever it does for others)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = None
        while loop.time() < deadline:
            if chat_id is None:
                now = (sum(1 for call in self.calls if call.method != "getUpdates"), self.pending_updates)
            else:
                now = (self.mark(chat_id), 0)
            if now == seen and now[1] == 0:
                return
            seen = now
            await asyncio.sleep(quiet)
        raise AssertionError(f"the bot did not go quiet within {timeout} s")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        params: dict[str, Any] = {}
        files: dict[str, Upload] = {}
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[name] = Upload(value.filename, value.content_type, value.file.read())
            elif name in _TEXT_FIELDS:
                params[name] = value
            else:
                try:
                    params[name] = json.loads(value)
                except ValueError:
                    params[name] = value
        call = await self.call(request.match_info["token"], request.match_info["method"], params, files)
        if call.status == 0:  # the connection drops: the bot gets no answer at all
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        body = json.dumps(call.payload(), ensure_ascii=False).encode()
        return web.Response(status=call.status, body=body, content_type="application/json")


@contextlib.asynccontextmanager
async def polling(application: Any, *, timeout: int = 1) -> AsyncIterator[Any]:
    """Run a python-telegram-bot Application with long polling for the block."""
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=timeout)
        try:
            yield application
        finally:
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
