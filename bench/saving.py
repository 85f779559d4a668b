"""How much does saving one runner's answer, or moving their reminder, cost as the number of
runners grows?

Builds two throw-away data dirs (100 and 10,000 runners by default, each runner
with a ~20-answer profile and 90 days of check-ins, and a reminder in the wake-up
index at 07:30 UTC), then times two of the bot's hot paths on random runners of each:
the answer (load the profile, change one answer, save it durably: fsync + rename)
and the schedule write (a snooze: the runner's wake-up leaves 07:30 for 08:00, durably).
Prints median and p95 per population and the ratio large/small of each; the target is
a ratio of at most 1.5, i.e. neither cost may depend on how many other runners are stored.
(Named saving.py, not storage.py: a script's folder comes first on the import path,
and a bench/storage.py would hide the `storage` package.)

    .venv/bin/python bench/saving.py [--runners-large 10000] [--samples 300]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from storage import open_store
from storage.files import DEFAULT_CACHE_SIZE, FileStore
from storage.wakeups import minute_of

TARGET_RATIO = 1.5
QUESTIONS = [f"q{i:02d}" for i in range(20)]
REMINDER = datetime(2027, 3, 29, 7, 30, tzinfo=UTC)
SNOOZED = REMINDER + timedelta(minutes=30)


def make_profile(rng: random.Random) -> dict:
    return {
        "state": "daily_checkin.ask_pain_during_run",
        "started": "2024-01-08T07:31:12+01:00",
        "answers": {q: {"value": rng.randint(0, 10), "at": "2024-01-08T07:3"} for q in QUESTIONS},
        "settings": {"reminder": "07:30", "tz": "Europe/Berlin", "language": "en"},
        "plan": {"phase": 2, "exercises": ["isometric_hold", "eccentric_heel_drop"]},
    }


def make_checkin(rng: random.Random, day: date) -> dict:
    return {
        "date": day.isoformat(),
        "pain_morning": rng.randint(0, 10),
        "pain_during": rng.randint(0, 10),
        "pain_after": rng.randint(0, 10),
        "stiffness_minutes": rng.choice([0, 5, 10, 30]),
        "km": round(rng.uniform(0, 15), 1),
        "exercises_done": rng.random() < 0.7,
        "note": "felt a bit stiff going down the stairs",
    }


def populate(data_dir: Path, runner_ids: list[int], days: int, rng: random.Random) -> None:
    """Write one runner through the real store, then copy its file for the rest.

    A runner file doesn't contain the runner's id, so a byte copy is a valid
    file for any other runner; this skips 10,000 x 90 fsyncs.
    """
    store = open_store(data_dir)
    assert isinstance(store, FileStore)
    template = runner_ids[0]
    store.save(template, make_profile(rng))
    today = date.today()
    for n in range(days):
        store.add_checkin(template, make_checkin(rng, today - timedelta(days=n)))
    content = store.path_for(template).read_bytes()
    for rid in runner_ids[1:]:
        store.path_for(rid).write_bytes(content)
    # Everyone's reminder at the same minute: the fullest an index folder gets.
    folder = data_dir / "wakeups" / minute_of(REMINDER)
    folder.mkdir(parents=True, exist_ok=True)
    for rid in runner_ids:
        (folder / str(rid)).touch()
    store.close()


def answer_one_question(store, runner_id: int, value: int) -> None:
    profile = store.load(runner_id)
    profile["answers"]["q07"] = {"value": value, "at": "2024-03-01T07:30:00+01:00"}
    store.save(runner_id, profile)


def snooze(store, runner_id: int, value: int) -> None:
    """The index part of a schedule change (a snooze, a new time, a pause): one entry moves."""
    store.wakeups.remove(runner_id, REMINDER)
    store.wakeups.add(runner_id, SNOOZED)
    store.wakeups.remove(runner_id, SNOOZED)  # back, so every sample starts from a full folder
    store.wakeups.add(runner_id, REMINDER)


WRITES = {"save one answer (load, change, save)": answer_one_question,
          "move one reminder (and back)": snooze}


def summary(times: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    return statistics.median(times) * 1e3, statistics.quantiles(times, n=20)[18] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners-small", type=int, default=100)
    parser.add_argument("--runners-large", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90, help="check-ins per runner")
    parser.add_argument("--samples", type=int, default=300, help="timed saves per population")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tmpdir", help="where to build the data dirs (default: system temp)")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="bench-storage-", dir=args.tmpdir) as tmp:
        populations = {}
        for label, count in (("small", args.runners_small), ("large", args.runners_large)):
            ids = rng.sample(range(10**8, 8 * 10**9), count)  # Telegram-like user ids
            started = time.perf_counter()
            populate(Path(tmp) / label, ids, args.days, rng)
            elapsed = time.perf_counter() - started
            file_kb = (Path(tmp) / label / "runners" / f"{ids[0]}.json").stat().st_size / 1024
            print(
                f"populated {label}: {count} runners x {args.days} days in {elapsed:.1f} s "
                f"({file_kb:.1f} KiB per runner file)"
            )
            # Opened afresh, as after a restart: no runner is cached yet.
            populations[label] = (open_store(Path(tmp) / label), ids)

        met = True
        for what, write in WRITES.items():
            times: dict[str, list[float]] = {label: [] for label in populations}
            for i in range(args.samples + 20):
                # Interleaved, so disk or CPU noise hits both populations alike.
                for label, (store, ids) in populations.items():
                    rid = rng.choice(ids)
                    started = time.perf_counter()
                    write(store, rid, i)
                    elapsed = time.perf_counter() - started
                    if i >= 20:  # the first rounds only warm up
                        times[label].append(elapsed)
            print(f"\n{what}, {args.samples} random runners each:")
            for label, (_, ids) in populations.items():
                median, p95 = summary(times[label])
                print(f"  {len(ids):>6} runners: median {median:6.3f} ms   p95 {p95:6.3f} ms")
            (small_median, small_p95), (large_median, large_p95) = map(summary, times.values())
            ratio = large_median / small_median
            print(f"ratio large/small: median {ratio:.2f}   p95 {large_p95 / small_p95:.2f}")
            met &= ratio <= TARGET_RATIO
        print(f"\ntarget: both median ratios <= {TARGET_RATIO}: {'met' if met else 'NOT met'}")
        print(
            f"(the store keeps the last {DEFAULT_CACHE_SIZE} runners parsed: the small population"
            " fits, so the large one pays an extra read + parse of one runner file per save)"
        )
        for store, _ in populations.values():
            store.close()


if __name__ == "__main__":
    main()
