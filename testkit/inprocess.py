"""The simulated Telegram in-process: no sockets, no polling, no waiting on the clock.

`InProcessRequest` is a python-telegram-bot `BaseRequest` that hands each Bot API request to a
`FakeTelegram` (the way python-telegram-bot's own tests and aiogram's mocked bot do), so the
real `Bot` still encodes the parameters and turns Telegram's refusals into its exceptions.
`InProcessBot` hands the queued updates over when the test waits, as one batch the way polling
would: to our bot's intake (`bot.intake.Intake`, kept in the inbox, then chat by chat) when the
Application has one, else to `Application.process_update`. It also waits for the tasks the bot
started for them (`Application.create_task`): when a wait returns, the bot has finished with
everything the test did. While the bot handles an update, `testkit.telegram.REPLYING_TO` holds the
update's number, so each message and answer it makes is tagged with the update it answers (and
tasks started meanwhile, such as the bot's alerts, inherit it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from testkit.telegram import REPLYING_TO, FakeTelegram, Upload

BASE_URL = "inprocess://telegram/bot"  # for build_application's base_url; never resolved


class InProcessRequest(BaseRequest):
    """python-telegram-bot's HTTP client, replaced by a direct call to a `FakeTelegram`."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        token, _, api_method = url.removeprefix(BASE_URL).rpartition("/")
        # Through JSON, as on the wire: what the bot sends must be JSON, and nothing is shared.
        params = json.loads(json.dumps(request_data.parameters)) if request_data else {}
        files = {}
        parts = request_data.multipart_data if request_data else {}
        for name, (filename, content, mime_type) in parts.items():
            data = content if isinstance(content, bytes) else content.read()
            files[name] = Upload(filename, mime_type, data)
        call = await self.telegram.call(token, api_method, params, files)
        if call.status == 0:
            raise NetworkError("connection dropped (simulated)")
        return call.status, json.dumps(call.payload()).encode()


class InProcessBot:
    """Runs the updates a test pushes through an Application, when the test waits."""

    def __init__(self, telegram: FakeTelegram, application: Application) -> None:
        self.telegram = telegram
        self.application = application
        self.intake = application.bot_data.get("intake")  # ours; a bare Application has none
        self.handling = 0  # batches of updates being handled now (tests may wait from several tasks)
        self.tasks: set[asyncio.Task] = set()
        self._done = asyncio.Event()
        self._numbers: dict[int, int | None] = {}  # id() of an Update being handled -> its number
        create_task = application.create_task
        process_update = application.process_update

        def tracked(coroutine: Any, update: object = None, *, name: str | None = None) -> asyncio.Task:
            task = create_task(coroutine, update, name=name)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return task

        application.create_task = tracked  # the bot's background sends (alerts, announcements)

        async def numbered(update: object) -> None:
            replying = REPLYING_TO.set(self._numbers.get(id(update)))
            try:
                await process_update(update)
            finally:
                REPLYING_TO.reset(replying)

        application.process_update = numbered  # what the intake calls for each update

    async def settle(self) -> None:
        """Handle every queued update and wait for all the bot started for them."""
        while True:
            taken = self.telegram.take_updates()
            if taken:
                bot = self.application.bot  # each is JSON already, as from the wire (FakeTelegram._push)
                updates = [Update.de_json(data, bot) for data in taken]
                numbers = {id(update): self.telegram.number_of(data)
                           for update, data in zip(updates, taken, strict=True)}
                self._numbers.update(numbers)  # `updates` keeps them alive, so no id() is reused meanwhile
                self.handling += 1
                try:
                    await self._handle(updates)
                finally:
                    self.handling -= 1
                    for key in numbers:
                        self._numbers.pop(key, None)
                    self._done.set()
            elif self.intake is not None and self.intake.busy:  # replaying what the inbox kept
                await self.intake.drain()
            elif self.tasks:
                await asyncio.wait(set(self.tasks))
            elif self.handling:  # another waiter is handling an update: wait for it too
                self._done.clear()
                await self._done.wait()
            else:
                return

    async def _handle(self, updates: list[Update]) -> None:
        application = self.application
        if self.intake is not None:
            await self.intake.receive(updates)
            await self.intake.drain()
            return
        processor = application.update_processor  # its limit on concurrent updates, as polling
        await asyncio.gather(*(processor.process_update(update, application.process_update(update))
                               for update in updates))


@contextlib.asynccontextmanager
async def running_in_process(telegram: FakeTelegram, application: Application,
                             on_start: Callable[[Application], Awaitable[None]] | None = None
                             ) -> AsyncIterator[Application]:
    """Start `application` (built with `InProcessRequest(telegram)`), with `on_start` as the
    bot's start-up, and attach it to `telegram`.

    The reminders' repeating job is removed: tests move their clock and call
    `scheduler.tick()` themselves, and a tick in real time would race them."""
    async with application:
        if on_start is not None:
            await on_start(application)
        for job in application.job_queue.get_jobs_by_name("reminders") if application.job_queue else ():
            job.schedule_removal()
        await application.start()
        bot = telegram.driver = InProcessBot(telegram, application)
        try:
            yield application
            await bot.settle()
        finally:
            telegram.driver = None
            await application.stop()
