"""Update-to-reply latency with 1,000 runners chatting at once: our bot vs a bare echo bot.

Both bots run as separate processes exactly as users run them (`python -m bot run` with
TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL and ACHILLES_DATA_DIR; `bench/echo_bot.py` the same
way, without a rate limiter), one after the other, each against its own simulated Telegram
(testkit.http.LocalBotApi, real HTTP). N simulated runners (`--runners`, default 1,000) are all in
a conversation at once: each sends /start, taps "I understand and agree", then answers the
questionnaire (`--steps` actions in all), waiting for the bot's reply to each action and then
thinking before the next. Each runner acts once every `period` seconds from a random start, so
the load is steady (no waves when many runners' steps line up). Latency is from pushing the
update into the server to the server receiving the bot's reply (the time it records for the
message). Prints p50/p95/p99, the replies per second, our/floor ratios, then a burst
(`--burst` runners send at the same instant) that shows how many replies a second each bot
can give.

Think time: our bot paces each chat to one message a second (and broadcasts, not replies, to
29 a second in all), as Telegram asks. So every runner thinks at least 1.1 s after a reply, and
acts every N / `--rate` seconds (default 25/s, a steady load like 1,000 runners' mornings),
the same for both bots: the comparison is then about what each bot adds, not about a queue
(`--think 1.1` shows the queue: 1,000 runners then offer ~900 actions/s, more than either bot
answers a second).

Our bot runs on a data dir with `--stored` runners already onboarded (default 10,000, reminders
set at an hour that does not fall due during the run): its start-up time (process start to
the first getUpdates) and resident memory (VmRSS after the load) are printed too.

The flood (`--flood`, default 50): halfway through the load, one more chat sends that many
messages at once. The other runners' latency while it lasts shows whether one chat can slow
everyone else (it must not: each chat's updates are handled in order, chats side by side).

The bot logs each sync round slower than 0.1 s (`storage/syncer.py`); the bench counts them. A
reply waits for its answer's fsync and the echo bot writes nothing, so such a stall of the disk
(this host's journal commits stall up to 0.7 s in its noisy spells) lands in our tail alone:
the count says whether the machine was quiet.

Targets (printed, not asserted): p99 at most 1.5x the echo floor; burst replies/s at least 60%
of the echo bot's; during the flood, the others' p99 within 2x the echo floor's; start-up under
3 s and RSS under 200 MB with 10,000 stored runners (and with `--stored 100000`).

    .venv/bin/python bench/latency.py [--runners 1000] [--steps 3] [--rate 25] [--stored 10000]
                                      [--burst 300] [--flood 50] [--seed 6]

About 2 x (steps x runners / rate) seconds: 4-5 minutes with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from storage.syncer import SLOW_ROUND, SLOW_ROUND_SECONDS
from testkit.http import LocalBotApi
from testkit.population import populate
from testkit.runner import TYPICAL_RUNNER

ROOT = Path(__file__).resolve().parent.parent

MIN_THINK = 1.1  # our bot sends at most one message a second to a chat
FIRST_SIMULATED = 1_000_001  # simulated runners' ids; the stored ones are 1..--stored
# Actions that each get exactly one message back (the last onboarding answer gets two).
STEPS = [("say", "/start"), ("tap", "I understand and agree"), *TYPICAL_RUNNER[:6]]
REPLY_TIMEOUT = 300.0
TARGET_P99_RATIO = 1.5
TARGET_BURST_SHARE = 0.6  # of the echo bot's replies per second
TARGET_FLOOD_RATIO = 2.0
FLOOD_CHAT = FIRST_SIMULATED - 1
TARGET_STARTUP_SECONDS = 3.0
TARGET_RSS_MB = 200.0


# --------------------------------------------------------------------------------------------
# 10,000 stored runners: one onboarded through the real conversation, copied (as bench/reminders.py)
# --------------------------------------------------------------------------------------------


def quiet_zone(now: datetime) -> str:
    """A fixed-offset zone where it is now about 03:00, so that a 15:00 reminder and the Sunday
    19:00 summary are both many hours away (nothing falls due during the benchmark)."""
    offset = (3 - now.hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-5 is UTC+5


def populate_quietly(data_dir: Path, runners: int) -> None:
    """Stored runners whose reminders fall at an hour that does not come during the run."""
    populate(data_dir, runners, time_of_day="15:00", zone=quiet_zone(datetime.now(UTC)))


# --------------------------------------------------------------------------------------------
# A bot process and the simulated runners
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, one per reply
    pushed: list[float] = field(default_factory=list)  # when each of those actions was pushed
    flood: tuple[float, float] = (0.0, 0.0)  # from the flood's push to its last reply
    failures: list[str] = field(default_factory=list)
    first_push: float = float("inf")
    last_reply: float = 0.0
    burst_latencies: list[float] = field(default_factory=list)
    burst_seconds: float = 0.0
    startup_seconds: float = 0.0
    rss_mb_idle: float = 0.0
    rss_mb_loaded: float = 0.0
    period: float = 0.0  # seconds between one runner's actions (at least MIN_THINK after a reply)
    slow_rounds: list[float] = field(default_factory=list)  # ms, each sync round the bot logged as slow

    @property
    def replies_per_second(self) -> float:
        span = self.last_reply - self.first_push
        return len(self.latencies) / span if span > 0 else 0.0

    def during_flood(self) -> list[float]:
        start, end = self.flood
        return [latency for pushed, latency in zip(self.pushed, self.latencies, strict=True)
                if start <= pushed <= end]

    @property
    def burst_rate(self) -> float:
        return len(self.burst_latencies) / self.burst_seconds if self.burst_seconds else 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_call(api: LocalBotApi, method: str, since: int):
    return next((call for call in api.calls[since:] if call.method == method), None)


@contextlib.asynccontextmanager
async def launched(api: LocalBotApi, argv: list[str], env: dict[str, str], log: Path) -> AsyncIterator[
    tuple[subprocess.Popen, float]
]:
    """Start a bot process against `api`; yield it and the seconds from start to its first
    getUpdates (when the server received it). Stopped with SIGINT at the end."""
    seen = len(api.calls)
    with open(log, "wb") as output:
        started = time.time()
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            while (first_poll := first_call(api, "getUpdates", seen)) is None:
                if process.poll() is not None:
                    raise SystemExit(f"{argv} exited at start-up:\n{log.read_text()[-3000:]}")
                await asyncio.sleep(0.01)  # polling the server's record; the timestamp is the server's
            yield process, first_poll.timestamp - started
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def button_for(api: LocalBotApi, chat_id: int, part: str, floor: bool) -> tuple[int, str]:
    """(message id, callback data) of the button to tap in the chat's latest message."""
    message = api.last_message_to(chat_id)
    if message is None or not message.inline_keyboard:
        raise AssertionError(f"nothing to tap in chat {chat_id}: {message!r}")
    buttons = [b for row in message.inline_keyboard for b in row if "callback_data" in b]
    if not floor:
        buttons = [b for b in buttons if part in b["text"]]
    if not buttons:
        raise AssertionError(f"no button {part!r} in chat {chat_id}: {message!r}")
    return message.message_id, buttons[0]["callback_data"]


async def act(api: LocalBotApi, chat_id: int, action: str, value: str, floor: bool) -> tuple[float, float]:
    """One runner action, then wait for the reply: (pushed at, replied at) in time.time()."""
    mark = api.mark(chat_id)
    if action == "say":
        pushed = time.time()
        api.send_message(chat_id, value)
    else:
        message_id, data = button_for(api, chat_id, value, floor)
        pushed = time.time()
        api.press_button(chat_id, message_id, data)
    replies = await api.wait_for_message(chat_id, since=mark, timeout=REPLY_TIMEOUT)
    return pushed, replies[-1].timestamp


async def runner(api: LocalBotApi, chat_id: int, steps: list, run: Run, rng: random.Random,
                 floor: bool) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time() + rng.uniform(0, run.period)  # runners' phases spread over one period
    replied_at = -MIN_THINK
    for index, (action, value) in enumerate(steps):
        due = max(start + index * run.period, replied_at + MIN_THINK)
        await asyncio.sleep(due - loop.time())
        try:
            pushed, replied = await act(api, chat_id, action, value, floor)
        except AssertionError as failure:
            run.failures.append(f"runner {chat_id} step {index} ({action} {value!r}): {failure}")
            return
        replied_at = loop.time()
        run.latencies.append(replied - pushed)
        run.pushed.append(pushed)
        run.first_push = min(run.first_push, pushed)
        run.last_reply = max(run.last_reply, replied)


async def flood(api: LocalBotApi, messages: int, run: Run, delay: float) -> None:
    """Halfway through the load, one chat sends `messages` at once; the window lasts until the
    last of them is answered."""
    await asyncio.sleep(delay)
    mark = api.mark(FLOOD_CHAT)
    start = time.time()
    for index in range(messages):
        api.send_message(FLOOD_CHAT, f"/help {index}")
    try:
        await api.wait_for_message(FLOOD_CHAT, since=mark, count=messages, timeout=REPLY_TIMEOUT)
    except AssertionError as failure:
        run.failures.append(f"flood: {failure}")
    run.flood = (start, time.time())


async def burst(api: LocalBotApi, chat_ids: list[int], run: Run) -> None:
    """Every chat sends /start at the same instant: how fast does the bot drain them?"""
    marks = {chat_id: api.mark(chat_id) for chat_id in chat_ids}
    pushed = time.time()
    for chat_id in chat_ids:
        api.send_message(chat_id, "/start")
    results = await asyncio.gather(
        *(api.wait_for_message(c, since=marks[c], timeout=REPLY_TIMEOUT) for c in chat_ids),
        return_exceptions=True,
    )
    replied = [r[-1].timestamp for r in results if not isinstance(r, BaseException)]
    run.failures += [f"burst: {r}" for r in results if isinstance(r, BaseException)]
    run.burst_latencies = [t - pushed for t in replied]
    run.burst_seconds = max(replied, default=pushed) - pushed


async def drive(run: Run, argv: list[str], env: dict[str, str], args: argparse.Namespace,
                floor: bool, log: Path) -> None:
    async with LocalBotApi() as api:
        env = dict(env, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url)
        async with launched(api, argv, env, log) as (process, startup):
            run.startup_seconds = startup
            run.rss_mb_idle = rss_mb(process.pid)
            chat_ids = list(range(FIRST_SIMULATED, FIRST_SIMULATED + args.runners))
            steps = STEPS[: args.steps]
            print(f"  {run.name}: {len(chat_ids)} runners x {len(steps)} steps ...", flush=True)
            load = asyncio.gather(*(
                runner(api, chat_id, steps, run, random.Random(args.seed * 1_000_003 + chat_id), floor)
                for chat_id in chat_ids
            ))
            if args.flood:
                await flood(api, args.flood, run, delay=len(steps) * run.period / 2)
            await load
            await asyncio.sleep(MIN_THINK)  # no chat inside its one-second pacing window
            await burst(api, chat_ids[: args.burst], run)
            run.rss_mb_loaded = rss_mb(process.pid)
            if process.poll() is not None:
                run.failures.append(f"the process died:\n{log.read_text()[-3000:]}")
    run.slow_rounds = slow_rounds(log)


def slow_rounds(log: Path) -> list[float]:
    """The sync rounds the bot logged as slow (ms): the disk stalled, and every reply waited."""
    pattern = re.compile(re.escape(SLOW_ROUND) + r" (\d+) ms")
    return [float(found[1]) for found in pattern.finditer(log.read_text(errors="replace"))]


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        value = values[0] if values else float("nan")
        return {"p50": value, "p95": value, "p99": value, "max": value}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(values)}


def report(floor: Run, ours: Run, args: argparse.Namespace, populate_seconds: float) -> None:
    expected = args.runners * min(args.steps, len(STEPS))
    print()
    print(f"Load: {args.runners} runners in conversation at once, {min(args.steps, len(STEPS))} actions each "
          f"({', '.join(v for _, v in STEPS[: args.steps])}),")
    print(f"      each runner acts every {ours.period:.1f} s from a random start and thinks at least "
          f"{MIN_THINK} s after a reply")
    print("      (our bot paces each chat to 1 message/s; the same load for both bots),")
    print(f"      offering about {args.runners / ours.period:.1f} actions/s "
          "(replies are paced per chat only; broadcasts at most 29/s in all).")
    print(f"Our bot's data dir holds {args.stored} stored runners (populated in {populate_seconds:.1f} s).")
    print()
    f, o = percentiles(floor.latencies), percentiles(ours.latencies)
    fb, ob = percentiles(floor.burst_latencies), percentiles(ours.burst_latencies)
    fd, od = percentiles(floor.during_flood()), percentiles(ours.during_flood())
    flood_ratio = od["p99"] / f["p99"] if f["p99"] > 0 else float("inf")  # against the floor's p99
    burst_share = ours.burst_rate / floor.burst_rate if floor.burst_rate else 0.0
    rows = [
        ("replies measured", f"{len(floor.latencies)}/{expected}", f"{len(ours.latencies)}/{expected}", ""),
    ]
    for key in ("p50", "p95", "p99", "max"):
        rows.append((f"latency {key} (ms)", f"{f[key] * 1000:.1f}", f"{o[key] * 1000:.1f}",
                     f"{o[key] / f[key]:.2f}x" if f[key] > 0 else ""))
    rows += [
        ("replies/s under the load", f"{floor.replies_per_second:.1f}", f"{ours.replies_per_second:.1f}", ""),
        (f"others' p99 during a flood of {args.flood} (ms)", f"{fd['p99'] * 1000:.1f}",
         f"{od['p99'] * 1000:.1f}", f"{flood_ratio:.2f}x"),
        (f"burst: {args.burst} at once, replies/s", f"{floor.burst_rate:.1f}", f"{ours.burst_rate:.1f}",
         f"{burst_share:.0%}"),
        ("burst latency p50 / p99 (s)", f"{fb['p50']:.2f} / {fb['p99']:.2f}",
         f"{ob['p50']:.2f} / {ob['p99']:.2f}", ""),
        ("start-up to first getUpdates (s)", f"{floor.startup_seconds:.2f}",
         f"{ours.startup_seconds:.2f}", ""),
        ("RSS after start-up (MB)", f"{floor.rss_mb_idle:.1f}", f"{ours.rss_mb_idle:.1f}", ""),
        ("RSS after the load (MB)", f"{floor.rss_mb_loaded:.1f}", f"{ours.rss_mb_loaded:.1f}", ""),
    ]
    widths = [max(len(str(r[i])) for r in [*rows, ("", "echo floor", "our bot", "ours/floor")])
              for i in range(4)]
    header = ("", "echo floor", "our bot", "ours/floor")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).rjust(width) if i else str(cell).ljust(width)
                        for i, (cell, width) in enumerate(zip(row, widths, strict=True))))
    for failure in (floor.failures + ours.failures)[:10]:
        print(f"FAILURE: {failure}")
    print()
    ratio = o["p99"] / f["p99"] if f["p99"] > 0 else float("inf")
    targets = [
        (f"p99 at most {TARGET_P99_RATIO:g}x the echo floor at {args.runners} runners",
         f"{ratio:.2f}x", ratio <= TARGET_P99_RATIO and not ours.failures),
        (f"burst replies/s at least {TARGET_BURST_SHARE:.0%} of the echo bot's",
         f"{burst_share:.0%}", burst_share >= TARGET_BURST_SHARE),
        (f"others' p99 during the flood within {TARGET_FLOOD_RATIO:g}x the echo floor",
         f"{flood_ratio:.2f}x ({len(ours.during_flood())} replies in the window)",
         flood_ratio <= TARGET_FLOOD_RATIO),
        (f"start-up under {TARGET_STARTUP_SECONDS:g} s with {args.stored} stored runners",
         f"{ours.startup_seconds:.2f} s", ours.startup_seconds < TARGET_STARTUP_SECONDS),
        (f"RSS under {TARGET_RSS_MB:g} MB with {args.stored} stored runners",
         f"{ours.rss_mb_loaded:.1f} MB", ours.rss_mb_loaded < TARGET_RSS_MB),
    ]
    for name, value, met in targets:
        print(f"target: {name}: {value} -> {'met' if met else 'NOT met'}")
    stalls = ours.slow_rounds
    print(f"the disk: {len(stalls)} sync rounds over {SLOW_ROUND_SECONDS * 1000:.0f} ms during our run"
          + (f" (max {max(stalls):.0f} ms): replies waited for them, a noisy machine" if stalls else
             ": a quiet machine"))


@contextlib.contextmanager
def no_pauses_here():
    """The simulated Telegram stamps each reply in this process: its own garbage collections
    (up to 0.2 s with the calls it records) would count as the bot's latency. Off for a run."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def main_async(args: argparse.Namespace) -> None:
    period = max(MIN_THINK, args.think if args.think is not None else args.runners / args.rate)
    floor, ours = Run("echo floor", period=period), Run("our bot", period=period)
    with tempfile.TemporaryDirectory(prefix="achilles-latency-") as tmp:
        tmp_dir = Path(tmp)
        data_dir = tmp_dir / "data"
        print(f"populating {args.stored} stored runners ...", flush=True)
        started = time.perf_counter()
        populate_quietly(data_dir, args.stored)
        populate_seconds = time.perf_counter() - started
        os.sync()  # the new files on disk before either bot runs: their writeback slows every fsync
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ACHILLES_"))}
        with no_pauses_here():
            await drive(floor, [sys.executable, str(ROOT / "bench" / "echo_bot.py")], env, args,
                        floor=True, log=tmp_dir / "echo.log")
        env["ACHILLES_DATA_DIR"] = str(data_dir)
        with no_pauses_here():
            await drive(ours, [sys.executable, "-m", "bot", "run"], env, args, floor=False,
                        log=tmp_dir / "bot.log")
    report(floor, ours, args, populate_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", type=int, default=1000, help="simulated runners, all at once")
    parser.add_argument("--steps", type=int, default=3, choices=range(1, len(STEPS) + 1),
                        help="actions per runner: /start, agree, then questionnaire answers")
    parser.add_argument("--rate", type=float, default=25.0,
                        help="offered actions per second in all: each runner acts every runners/rate s")
    parser.add_argument("--think", type=float, default=None,
                        help="each runner acts every THINK s instead (e.g. 1.1: saturates our bot)")
    parser.add_argument("--stored", type=int, default=10_000, help="runners already in our bot's data dir")
    parser.add_argument("--burst", type=int, default=300, help="runners that send at the same instant")
    parser.add_argument("--flood", type=int, default=50, help="messages one chat sends at once, mid-load")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    args.burst = min(args.burst, args.runners)
    started = time.perf_counter()
    asyncio.run(main_async(args))
    print(f"(bench took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
