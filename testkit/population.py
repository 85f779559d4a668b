"""Many onboarded runners on disk, quickly, for the benchmarks.

One runner goes through the real conversation (the engine, no Telegram); its file is copied
for the others, and the wakeup index is written once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from conversations.engine import schedule_of
from conversations.reminders import CATCH_UP, next_wakeup
from storage.wakeups import BUILT, minute_of
from testkit.runner import onboard_in_engine
from testkit.story import make_coach, real_time

TEMPLATE_RUNNER = 1


def populate(data_dir: Path, runners: int, *, time_of_day: str, zone: str) -> None:
    """Runners 1..`runners`, onboarded, with reminders at `time_of_day` in `zone`."""
    coach = make_coach(data_dir, real_time)  # the bot that reads these runs on real time
    onboard_in_engine(coach, TEMPLATE_RUNNER)
    record = coach.store.load(TEMPLATE_RUNNER)
    record["reminder"].update(time=time_of_day, timezone=zone)
    coach.store.save(TEMPLATE_RUNNER, record)
    store = coach.store
    template = store.path_for(TEMPLATE_RUNNER).read_text()
    # As the scheduler's start-up would plan it: a reminder due within CATCH_UP is due now.
    wakeup = next_wakeup(schedule_of(record), datetime.now(UTC) - CATCH_UP)
    store.close()
    marker = f'"runner_id":{TEMPLATE_RUNNER},'  # storage writes compact JSON
    if marker not in template:
        raise SystemExit(f"populate: {marker!r} not found in the template runner's file")
    for runner_id in range(2, runners + 1):
        text = template.replace(marker, f'"runner_id":{runner_id},')
        (data_dir / "runners" / f"{runner_id}.json").write_text(text)
    # Everyone's next wake-up, as the scheduler would have written it (without a sync per file).
    minute = data_dir / "wakeups" / minute_of(wakeup)
    minute.mkdir(parents=True, exist_ok=True)
    for runner_id in range(1, runners + 1):
        (minute / str(runner_id)).touch()
    (data_dir / "wakeups" / BUILT).touch()
