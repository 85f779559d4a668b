"""Sends each runner's scheduled messages (daily reminder, snooze, Sunday summary) on time.

The schedule index (storage's shared file) is read once at start-up; from then on the
`Coach` tells the scheduler about every change. Each runner has one next wake-up instant;
a tick sends whatever has fallen due. A reminder missed while the bot was down is still sent
at start-up if within two hours of its time, and never twice on the same local day (the coach
checks the runner's record before anything goes out).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from conversations.coach import Coach, Reply
from conversations.reminders import CATCH_UP, next_wakeup

log = logging.getLogger(__name__)
RETRY_SOON = timedelta(minutes=1)

Send = Callable[[int, list[Reply]], Awaitable[None]]


class ReminderScheduler:
    def __init__(self, coach: Coach, send: Send) -> None:
        self.coach = coach
        self.send = send
        self.schedules: dict[int, dict] = {}
        self.wakeups: dict[int, datetime] = {}
        coach.schedule_listeners.append(self.update)

    def load(self) -> None:
        """At start-up: plan everyone, looking back far enough to catch a missed reminder."""
        since = self.coach.now() - CATCH_UP
        for runner_id, schedule in self.coach.store.schedules().items():
            self.update(runner_id, schedule, after=since)

    def update(self, runner_id: int, schedule: dict | None, after: datetime | None = None) -> None:
        if schedule is None or not schedule.get("active", True):
            self.schedules.pop(runner_id, None)
            self.wakeups.pop(runner_id, None)
            return
        self.schedules[runner_id] = schedule
        self.wakeups[runner_id] = next_wakeup(schedule, after or self.coach.now())

    def due_now(self) -> list[int]:
        now = self.coach.now()
        return [runner_id for runner_id, moment in self.wakeups.items() if moment <= now]

    async def tick(self) -> int:
        """Send everything due now; returns how many messages went out."""
        sent = 0
        for runner_id in self.due_now():
            sent += await self.send_due(runner_id)
        for runner_id, replies in self.coach.session_reminders():
            sent += await self.send_once(runner_id, replies)
        return sent

    async def send_once(self, runner_id: int, replies: list[Reply]) -> int:
        """A one-off message (group session, announcement, alert): sent, or logged and dropped."""
        try:
            await self.send(runner_id, replies)
        except Forbidden:
            self.coach.mark_inactive(runner_id)
            return 0
        except (NetworkError, RetryAfter) as error:  # BadRequest included: a one-off is not retried
            log.warning("a one-off message could not be sent: %s", error)
            return 0
        return 1

    async def send_due(self, runner_id: int) -> int:
        sent = 0
        retry = False
        for kind, replies in self.coach.due(runner_id):
            try:
                await self.send(runner_id, replies)  # network failures are retried in there
            except Forbidden:
                log.info("runner blocked the bot; no more reminders until they return")
                self.coach.mark_inactive(runner_id)
                return sent
            except BadRequest as error:  # final: trying again would only be refused again
                log.warning("a %s was refused: %s", kind, error)
                if "chat not found" in str(error).lower():
                    self.coach.mark_inactive(runner_id)
                    return sent
                self.coach.mark_sent(runner_id, kind)  # so it is not retried all morning
                continue
            except (NetworkError, RetryAfter):
                log.warning("could not send a %s; trying again shortly", kind)
                retry = True
                continue
            self.coach.mark_sent(runner_id, kind)
            sent += 1
        schedule = self.schedules.get(runner_id)
        if schedule is not None:
            now = self.coach.now()
            self.wakeups[runner_id] = now + RETRY_SOON if retry else next_wakeup(schedule, now)
        return sent
