"""The simulated Telegram over real HTTP (aiohttp on 127.0.0.1): for a bot in another process
(the crash tests, the benches), for faults that only exist on a network (a dropped connection)
and for the polling smoke test. Point the bot at `api.base_url` with `api.token`.

    async with LocalBotApi() as api:
        ... build_application(api.token, api.base_url, coach) ...

Once the bot has called setWebhook, the updates are posted to its URL as Telegram posts them:
one at a time and in order, as JSON, with the secret in `X-Telegram-Bot-Api-Secret-Token`. An
update is delivered when the webhook answers 2xx; any other answer, a refused or dropped
connection, or no answer within `webhook_timeout` seconds, and it is posted again after
`webhook_retry` seconds (Telegram waits longer, and longer each time; tests need not). Each post
is recorded in `deliveries`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from testkit.telegram import FakeTelegram, Upload, Webhook

# Fields python-telegram-bot sends as plain strings; every other form field is JSON.
_TEXT_FIELDS = frozenset({"text", "caption", "parse_mode", "callback_query_id", "language_code", "url",
                          "secret_token", "ip_address"})
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(slots=True, eq=False)
class WebhookDelivery:
    """One post of an update to the webhook. `status` None: waiting for the answer; 0: none came
    (the connection was refused or dropped, or the answer took too long)."""

    update_id: int
    url: str
    secret_token: str | None
    timestamp: float
    status: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class LocalBotApi(FakeTelegram):
    """`FakeTelegram` served over HTTP. The bot works on its own time here, so the waits are
    real waits (with timeouts), and `settle` guesses from silence."""

    realtime = True

    def __init__(self, *, host: str = "127.0.0.1", webhook_retry: float = 0.05,
                 webhook_timeout: float = 10.0, **options: Any) -> None:
        """`webhook_retry`: seconds before an update the webhook did not take is posted again;
        `webhook_timeout`: seconds a post waits for the webhook's answer."""
        super().__init__(**options)
        self.host = host
        self.port: int | None = None
        self.webhook_retry = webhook_retry
        self.webhook_timeout = webhook_timeout
        self.deliveries: list[WebhookDelivery] = []
        self._delivery_waiters: list[tuple[Callable[[WebhookDelivery], bool], asyncio.Future]] = []
        self._runner: web.AppRunner | None = None
        self._poster: asyncio.Task | None = None

    async def start(self) -> LocalBotApi:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        self.port = self._runner.addresses[0][1]
        self._poster = asyncio.create_task(self._post_to_webhook())
        return self

    async def stop(self) -> None:
        if self._poster is not None:
            poster, self._poster = self._poster, None
            poster.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poster
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

    async def wait_for_delivery(self, predicate: Callable[[WebhookDelivery], bool] | None = None, *,
                                timeout: float = 5.0) -> WebhookDelivery:
        """The next post to the webhook (matching `predicate`), as it starts (`status` None) or
        as its answer comes."""
        waiter = (predicate or (lambda delivery: True), asyncio.get_running_loop().create_future())
        self._delivery_waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter[1], timeout)
        except TimeoutError:
            self._timed_out(f"a post to the webhook for {timeout} s", None)
        finally:
            self._delivery_waiters.remove(waiter)

    async def _post_to_webhook(self) -> None:
        """Telegram's side of a webhook: the pending updates, posted one at a time until taken."""
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                self._webhook_news.clear()
                update = self.next_for_webhook()
                if update is None:
                    await self._webhook_news.wait()
                    continue
                delivery = await self._post(http, self.webhook, update)
                if delivery.delivered:
                    self.confirm_webhook_update(update["update_id"])
                else:
                    await asyncio.sleep(self.webhook_retry)

    async def _post(self, http: aiohttp.ClientSession, webhook: Webhook, update: dict[str, Any]
                    ) -> WebhookDelivery:
        delivery = WebhookDelivery(update["update_id"], webhook.url, webhook.secret_token, time.time())
        self.deliveries.append(delivery)
        self._notify_delivery(delivery)
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token is not None:
            headers[SECRET_HEADER] = webhook.secret_token
        try:
            body = json.dumps(update, ensure_ascii=False).encode()
            async with http.post(webhook.url, data=body, headers=headers, allow_redirects=False) as answer:
                await answer.read()
                delivery.status = answer.status
                if not delivery.delivered:
                    delivery.error = f"Wrong response from the webhook: {answer.status} {answer.reason}"
        except (aiohttp.ClientError, TimeoutError) as error:
            delivery.status, delivery.error = 0, f"{type(error).__name__}: {error}"
        self._notify_delivery(delivery)
        return delivery

    def _notify_delivery(self, delivery: WebhookDelivery) -> None:
        for check, future in self._delivery_waiters:
            if not future.done() and check(delivery):
                future.set_result(delivery)

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
