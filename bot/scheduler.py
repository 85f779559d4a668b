"""Sends each runner's scheduled messages (daily reminder, snooze, Sunday summary) on time, and
the one-off messages for other chats that the engine decides (alerts, announcements, session
reminders).

The schedule index (storage's shared file) is read once at start-up; from then on every
outcome of the engine carries the schedules that changed (`apply`). Each runner has one next
wake-up instant; a tick sends whatever has fallen due. A reminder missed while the bot was down
is still sent at start-up if within two hours of its time, and never twice on the same local day
(the engine checks the runner's record before anything goes out).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from conversations.engine import Engine
from conversations.reminders import CATCH_UP, next_wakeup
from conversations.replies import Message, Reply

log = logging.getLogger(__name__)
RETRY_SOON = timedelta(minutes=1)

Send = Callable[[int, list[Reply]], Awaitable[None]]


class ReminderScheduler:
    def __init__(self, engine: Engine, send: Send) -> None:
        self.engine = engine
        self.send = send
        self.schedules: dict[int, dict] = {}
        self.wakeups: dict[int, datetime] = {}

    def now(self) -> datetime:
        return self.engine.services.now()

    def load(self) -> None:
        """At start-up: plan everyone, looking back far enough to catch a missed reminder."""
        self.apply(self.engine.store.schedules(), after=self.now() - CATCH_UP)

    def apply(self, schedules: dict[int, dict | None], after: datetime | None = None) -> None:
        """Plan (or forget) the runners whose schedules changed."""
        for runner_id, schedule in schedules.items():
            if schedule is None or not schedule.get("active", True):
                self.schedules.pop(runner_id, None)
                self.wakeups.pop(runner_id, None)
            else:
                self.schedules[runner_id] = schedule
                self.wakeups[runner_id] = next_wakeup(schedule, after or self.now())

    def due_now(self) -> list[int]:
        now = self.now()
        return [runner_id for runner_id, moment in self.wakeups.items() if moment <= now]

    async def tick(self) -> int:
        """Send everything due now; returns how many messages went out."""
        sent = 0
        for runner_id in self.due_now():
            # Moved on before sending: whatever fails below, this runner is not tried again at
            # once, and the runners after them are still served.
            self.wakeups[runner_id] = self.now() + RETRY_SOON
            try:
                sent += await self.send_due(runner_id)
            except Exception:
                log.exception("scheduled messages for one runner failed; trying again shortly")
        for message in self.engine.session_reminders():
            sent += await self.send_message(message)
        return sent

    async def send_message(self, message: Message) -> int:
        """A one-off message for another chat: sent, or logged and dropped."""
        try:
            await self.send(message.chat_id, list(message.replies))
        except Forbidden:
            self.apply(self.engine.mark_blocked(message.chat_id))
            return 0
        except (NetworkError, RetryAfter) as error:  # BadRequest included: a one-off is not retried
            log.warning("a one-off message could not be sent: %s", error)
            return 0
        return 1

    async def send_due(self, runner_id: int) -> int:
        sent = 0
        retry = False
        for kind, replies in self.engine.due(runner_id):
            try:
                await self.send(runner_id, replies)  # network failures are retried in there
            except Forbidden:
                log.info("runner blocked the bot; no more reminders until they return")
                self.apply(self.engine.mark_blocked(runner_id))
                return sent
            except BadRequest as error:  # final: trying again would only be refused again
                log.warning("a %s was refused: %s", kind, error)
                if "chat not found" in str(error).lower():
                    self.apply(self.engine.mark_blocked(runner_id))
                    return sent
                self.apply(self.engine.mark_sent(runner_id, kind))  # so it is not retried all morning
                continue
            except (NetworkError, RetryAfter):
                log.warning("could not send a %s; trying again shortly", kind)
                retry = True
                continue
            self.apply(self.engine.mark_sent(runner_id, kind))
            sent += 1
        schedule = self.schedules.get(runner_id)
        if schedule is not None and not retry:
            self.wakeups[runner_id] = next_wakeup(schedule, self.now())
        return sent
