"""Every update on its way from Telegram (polling or a webhook) to the handlers, and the one
thread where the engine works.

`Intake.receive` keeps a batch in the inbox before it returns, so the batch may then be confirmed
to Telegram and a crash still loses nothing: at start-up `replay` hands the inbox's updates over
again (the engine knows those it already applied). The updates are handled while the inbox
writes them; a reply waits only for that write (`kept`), so the answer is worked out while the
disk syncs. Each chat's updates run one at a time and in order, while chats run side by side: a
chat that floods the bot holds one worker and waits its turn, its backlog bounded, and never
slows anyone else.

`EngineThread` runs the engine (and everything else that touches runners' files, fsyncs
included) on one thread of its own: the event loop never waits on a disk, and the engine, one
call at a time, needs no locks. The inbox has a thread of its own in the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from telegram import Update
from telegram.ext import Application

from storage.inbox import Inbox

log = logging.getLogger(__name__)
BACKLOG = 100  # updates a chat may have waiting (a getUpdates batch); a flood beyond is dropped


class EngineThread:
    """One thread for the engine and storage (or the inbox), called from the event loop."""

    def __init__(self, name: str = "engine") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def __call__(self, work: Callable, /, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(work, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)


class Intake:
    def __init__(self, application: Application, inbox: Inbox, backlog: int = BACKLOG) -> None:
        self.application = application
        self.inbox = inbox
        self.inbox_thread = EngineThread("inbox")
        self.backlog = backlog
        self._queues: dict[int, deque[Update]] = {}
        self._tasks: set[asyncio.Task] = set()  # the chats' workers, and the inbox's bookkeeping
        self._keeping: dict[int, asyncio.Future] = {}  # update id -> its batch's write to the inbox

    async def receive(self, updates: list[Update]) -> None:
        """A batch from Telegram: queued and kept. When this returns, it may be confirmed."""
        new = self.inbox.unseen([update.to_dict() for update in updates])
        ids = {data["update_id"] for data in new}
        fresh = [update for update in updates if update.update_id in ids]  # not one in hand already
        keeping = asyncio.ensure_future(self.inbox_thread(self.inbox.keep, new))
        for update in fresh:
            self._keeping[update.update_id] = keeping
            self._queue(update)
        await keeping

    async def kept(self, update: Update) -> None:
        """Before a reply to `update` goes out: its batch is in the inbox (a reply is never seen
        for an update that a crash could lose)."""
        keeping = self._keeping.pop(update.update_id, None)
        if keeping is not None:
            await keeping

    async def replay(self) -> None:
        """At start-up: what was received but not handled before the bot stopped."""
        pending = await self.inbox_thread(self.inbox.pending)
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

    def close(self) -> None:
        self.inbox_thread.close()

    def _start(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _queue(self, update: Update) -> None:
        chat = chat_of(update)
        queue = self._queues.get(chat)
        if queue is None:
            queue = self._queues[chat] = deque()
            self._start(self._work(chat, queue))
        if len(queue) >= self.backlog:
            log.warning("a chat's backlog is full; update %s is dropped", update.update_id)
            self._done(update.update_id)
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
                    await self.kept(update)  # done is marked after the batch's write
                    # Marked before the chat's next update starts: a crash repeats at most one reply.
                    await self.inbox_thread(self.inbox.done, update.update_id)
        finally:
            del self._queues[chat]

    def _done(self, update_id: int) -> None:
        self._keeping.pop(update_id, None)  # the inbox thread writes the batch before this mark
        self._start(self.inbox_thread(self.inbox.done, update_id))


def chat_of(update: Update) -> int:
    """The chat whose updates must stay in order (the sender's, for a tap)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user else 0
