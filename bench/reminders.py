"""How fast the daily reminders go out when thousands of runners chose the same minute.

N runners (default 3,000; `--runners 10000` for the full run) are all due now. The real bot
(python-telegram-bot with our limiter) sends them through a local Bot API server that enforces
Telegram's flood limits: a 429 with retry_after past 30 messages a second overall or 1 a second
per chat. Prints: reminders delivered (each exactly once?), 429s received, total time, and the
ratio to the floor of N/30 seconds (target: within 10%).

    .venv/bin/python bench/reminders.py [--runners N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.telegram_app import build_application
from testkit.http import LocalBotApi
from testkit.population import populate
from testkit.story import make_coach, real_time


async def run(runners: int) -> dict:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        populate(data_dir, runners, time_of_day=now.strftime("%H:%M"), zone="UTC")
        populate_seconds = time.perf_counter() - started
        async with LocalBotApi(enforce_limits=True, keep_calls=False) as api:
            for runner_id in range(1, runners + 1):
                api.register_chat(runner_id, chat_type="private")
            coach = make_coach(data_dir, real_time)
            application = build_application(api.token, api.base_url, coach)
            coach.store.syncer.start()  # as the running bot writes: grouped, off the event loop
            async with application:
                scheduler = application.bot_data["scheduler"]
                await scheduler.load()
                due = len(scheduler.store.wakeups.due(scheduler.now()))
                started = time.perf_counter()
                sent = await scheduler.tick()
                seconds = time.perf_counter() - started
            coach.store.syncer.stop()
            per_chat = Counter(m.chat_id for m in api.all_messages())
    return {
        "runners": runners,
        "due": due,
        "sent": sent,
        "delivered_once": sum(1 for count in per_chat.values() if count == 1),
        "delivered_twice_or_more": sum(1 for count in per_chat.values() if count > 1),
        "not_delivered": runners - len(per_chat),
        "429_received": api.stats.rate_limited,
        "seconds": round(seconds, 1),
        "floor_seconds": round(runners / 30, 1),
        "ratio_to_floor": round(seconds / (runners / 30), 3),
        "populate_seconds": round(populate_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", type=int, default=3000)
    args = parser.parse_args()
    result = asyncio.run(run(args.runners))
    print(json.dumps(result, indent=2))
    ok = (
        result["delivered_once"] == args.runners
        and result["429_received"] == 0
        and result["ratio_to_floor"] <= 1.10
    )
    print(f"target (all once, no 429, time within 10% of N/30 s): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
