"""Every update on its way from Telegram (polling or a webhook) to the handlers, and how storage
work is awaited.

`Intake.receive` hands a batch to the inbox before anything else and returns once it is on disk,
so the batch may then be confirmed to Telegram and a crash still loses nothing: at start-up
`replay` hands the inbox's updates over again (the engine knows those it already applied). The
updates are handled while the batch is written; a reply waits for that write (`kept`). Each
chat's updates run one at a time and in order, while chats run side by side: a chat that floods
the bot holds one worker and waits its turn, its backlog bounded, and never slows anyone else.

`Durably` runs the engine's work right on the event loop (no thread, no lock: one call at a time)
and returns once what it wrote is on disk: the store's syncer writes and fsyncs on a thread of
its own, so the loop never waits on a disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application

from storage.inbox import Inbox
from storage.syncer import Syncer

log = logging.getLogger(__name__)
BACKLOG = 100  # updates a chat may have waiting (a getUpdates batch); a flood beyond is dropped


class Durably:
    """Storage work (the engine's turns, the scheduler's marks) here on the event loop; returns
    once everything it wrote is on disk."""

    def __init__(self, syncer: Syncer) -> None:
        self.syncer = syncer

    async def __call__(self, work: Callable, /, *args: Any, **kwargs: Any) -> Any:
        result = work(*args, **kwargs)
        await self.syncer.durable()
        return result


class Intake:
    def __init__(self, application: Application, inbox: Inbox, syncer: Syncer,
                 backlog: int = BACKLOG) -> None:
        self.application = application
        self.inbox = inbox
        self.syncer = syncer
        self.backlog = backlog
        self._queues: dict[int, deque[Update]] = {}
        self._tasks: set[asyncio.Task] = set()  # the chats' workers

    async def receive(self, updates: list[Update]) -> None:
        """A batch from Telegram: kept and queued. When this returns, it may be confirmed."""
        new = {data["update_id"] for data in self.inbox.put([update.to_dict() for update in updates])}
        for update in updates:
            if update.update_id in new:  # one delivered again after a crash is in hand already
                self._queue(update)
        await asyncio.sleep(0)  # the chats' first turns hand their answers over: one sync for all
        await self.syncer.durable()

    async def kept(self) -> None:
        """Before a reply goes out: the batches received so far are on disk (a runner never sees
        a reply to an update that a crash could lose)."""
        await self.syncer.durable()

    async def replay(self) -> None:
        """At start-up: what was received but not handled before the bot stopped."""
        pending = self.inbox.pending()
        if pending:
            log.info("handling %d update(s) received before the restart", len(pending))
        for data in pending:
            self._queue(Update.de_json(data, self.application.bot))

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def drain(self) -> None:
        """Wait until every queued update has been handled (shutting down, or a test's step)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _queue(self, update: Update) -> None:
        chat = chat_of(update)
        queue = self._queues.get(chat)
        if queue is None:
            queue = self._queues[chat] = deque()
            task = asyncio.get_running_loop().create_task(self._work(chat, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if len(queue) >= self.backlog:
            log.warning("a chat's backlog is full; update %s is dropped", update.update_id)
            self.inbox.done(update.update_id)
            return
        queue.append(update)

    async def _work(self, chat: int, queue: deque[Update]) -> None:
        try:
            while queue:
                update = queue[0]
                try:
                    await self.application.process_update(update)
                except Exception:  # the error handler has had its say; the next update goes on
                    log.exception("update %s failed", update.update_id)
                finally:
                    queue.popleft()
                    await self.kept()  # a batch is marked done only once it is on disk
                    # Marked before the chat's next update starts: a crash repeats at most one reply.
                    self.inbox.done(update.update_id)
        finally:
            del self._queues[chat]


def chat_of(update: Update) -> int:
    """The chat whose updates must stay in order (the sender's, for a tap)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user else 0
