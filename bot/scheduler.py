"""Sends what nobody asked for just now: each runner's scheduled messages (daily reminder,
snooze, Sunday summary) on time, and the outbox (admins' alerts, announcements, admissions,
group-session reminders).

When each runner next needs a look is kept in storage's wakeup index, by minute (the engine
writes it whenever a reminder is set, moved or sent): a tick reads the minutes that have come
due, so nothing about the other runners is held in memory. For each runner the next wake-up is
written before the current one is let go, and a scheduled message is marked sent before it
goes: a crash, a full disk or one bad record never sends a reminder twice and never stops the
runners after it. A reminder missed while the bot was down is still sent if within two hours of
its time. All storage work goes through `run`, which returns once what it wrote is on disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from conversations.engine import Engine, reply_from_json
from conversations.replies import Reply

log = logging.getLogger(__name__)
RETRY_SOON = timedelta(minutes=1)

Send = Callable[[int, list[Reply], str], Awaitable[None]]  # chat, replies, the reader's language
Run = Callable[..., Awaitable]  # storage work, returning once it is on disk (bot.intake.Durably)


async def inline(work: Callable, /, *args, **kwargs):
    """Storage work right here (tests that drive the scheduler on their own clock)."""
    return work(*args, **kwargs)


class ReminderScheduler:
    def __init__(self, engine: Engine, send: Send, run: Run = inline) -> None:
        self.engine = engine
        self.send = send
        self.run = run
        self.store = engine.store
        self._flushing = asyncio.Lock()

    def now(self) -> datetime:
        return self.engine.services.now()

    async def load(self) -> None:
        """At start-up: an index never built (or lost) is rebuilt from the runners' records."""
        if not await self.run(lambda: self.store.wakeups.built):
            await self.run(self.engine.rebuild_wakeups)

    async def tick(self) -> int:
        """Send everything due now; returns how many messages went out."""
        sent = 0
        for minute, runner_id in await self.run(self.store.wakeups.due, self.now()):
            try:
                sent += await self.send_due(runner_id)
            except Exception:
                log.exception("scheduled messages for one runner failed; trying again shortly")
                await self.run(self.store.wakeups.add, runner_id, self.now() + RETRY_SOON)
            finally:  # its next wake-up is already written
                await self.run(self.store.wakeups.remove, runner_id, minute)
        await self.run(self.engine.queue_session_reminders)
        return sent + await self.flush_outbox()

    async def send_due(self, runner_id: int) -> int:
        due = await self.run(self.engine.claim_due, runner_id)  # marked sent: never twice
        if not due:
            return 0
        lang = await self.run(self.engine.language_of, runner_id)
        sent = 0
        for kind, replies in due:
            try:
                await self.send(runner_id, replies, lang)  # network failures are retried in there
                sent += 1
            except Forbidden:
                log.info("runner blocked the bot; no more reminders until they return")
                await self.run(self.engine.mark_blocked, runner_id)
                break
            except BadRequest as error:  # final: trying again would only be refused again
                log.warning("a %s was refused: %s", kind, error)
                if "chat not found" in str(error).lower():
                    await self.run(self.engine.mark_blocked, runner_id)
                    break
            except (NetworkError, RetryAfter) as error:
                log.warning("a %s could not be sent and is dropped for today: %s", kind, error)
        return sent

    async def flush_outbox(self) -> int:
        """Send what waits in the outbox, each message marked done once it went (or never can)."""
        sent = 0
        async with self._flushing:  # one sender at a time, so no message is picked up twice
            for message in await self.run(self.store.outbox.pending):
                replies = [reply_from_json(data, self.engine.clinic) for data in message["replies"]]
                lang = await self.run(self.engine.language_of, message["chat_id"])
                try:
                    await self.send(message["chat_id"], replies, lang)
                    sent += 1
                except Forbidden:
                    await self.run(self.engine.mark_blocked, message["chat_id"])
                except BadRequest as error:
                    log.warning("a message for another chat was refused: %s", error)
                except (NetworkError, RetryAfter) as error:
                    log.warning("a message for another chat waits for the next try: %s", error)
                    continue
                await self.run(self.store.outbox.done, message["key"])
        return sent
