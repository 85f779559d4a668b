"""Storage: one suite, run against every backend, plus what only files can do
(reopening, crashes, corrupt files)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import RunnerStore, open_store
from storage.atomic import CorruptFile
from storage.files import FileStore

ROOT = Path(__file__).resolve().parent.parent
RUNNER = 987654321  # long enough that it can't appear in other data by chance
OTHER = 55501

PROFILE = {
    "state": "ask_morning_stiffness",
    "answers": {"pain_at_rest": 2, "weekly_km": 35, "goal": "half marathon in May"},
    "settings": {"reminder": "07:30", "tz": "Europe/Berlin"},
}


def day(n: int) -> str:
    return f"2024-03-{n:02d}"


@pytest.fixture(params=["memory", "files"])
def store(request, tmp_path):
    s = open_store(None if request.param == "memory" else tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


def runner_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.is_file())


# --- the same story for every backend ---------------------------------------


def test_unknown_runner_has_nothing_stored(store: RunnerStore):
    assert store.load(RUNNER) is None
    assert store.checkins(RUNNER) == []
    assert store.runner_ids() == []  # looking someone up doesn't register them


def test_saved_answer_is_loaded_back(store: RunnerStore):
    store.save(RUNNER, PROFILE)
    assert store.load(RUNNER) == PROFILE


def test_save_replaces_the_whole_profile(store: RunnerStore):
    store.save(RUNNER, PROFILE)
    store.save(RUNNER, {"state": "done"})
    assert store.load(RUNNER) == {"state": "done"}  # no leftover answers merged in


def test_callers_cannot_change_stored_state_by_accident(store: RunnerStore):
    profile = json.loads(json.dumps(PROFILE))
    store.save(RUNNER, profile)
    profile["answers"]["pain_at_rest"] = 9
    store.load(RUNNER)["answers"]["weekly_km"] = 0
    store.add_checkin(RUNNER, row := {"date": day(1), "pain": 3})
    row["pain"] = 10
    store.checkins(RUNNER)[0]["pain"] = 10
    assert store.load(RUNNER) == PROFILE
    assert store.checkins(RUNNER) == [{"date": day(1), "pain": 3}]


def test_checkins_come_back_by_date_one_per_day(store: RunnerStore):
    store.add_checkin(RUNNER, {"date": day(3), "pain": 4})
    store.add_checkin(RUNNER, {"date": day(1), "pain": 6, "note": "stiff"})
    store.add_checkin(RUNNER, {"date": day(2), "pain": 5})
    store.add_checkin(RUNNER, {"date": day(1), "pain": 2})  # corrected the same day
    assert store.checkins(RUNNER) == [
        {"date": day(1), "pain": 2},
        {"date": day(2), "pain": 5},
        {"date": day(3), "pain": 4},
    ]


@pytest.mark.parametrize("bad", [{}, {"date": "03/01/2024"}, {"date": "20240301"}, {"date": 1}])
def test_checkin_without_an_iso_date_is_refused(store: RunnerStore, bad):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        store.add_checkin(RUNNER, bad)
    assert store.checkins(RUNNER) == []


@pytest.mark.parametrize("bad_id", ["1", 1.0, True, None])
def test_runner_ids_must_be_ints(store: RunnerStore, bad_id):
    with pytest.raises(TypeError):
        store.save(bad_id, PROFILE)


def test_profiles_must_be_json(store: RunnerStore):
    with pytest.raises(TypeError):
        store.save(RUNNER, {"when": object()})
    with pytest.raises(TypeError):
        store.save(RUNNER, ["not", "a", "dict"])
    assert store.load(RUNNER) is None


def test_runner_ids_lists_everyone_with_data(store: RunnerStore):
    store.save(OTHER, PROFILE)
    store.add_checkin(RUNNER, {"date": day(1), "pain": 1})  # a check-in alone counts too
    assert store.runner_ids() == [OTHER, RUNNER]


def test_export_contains_everything_about_the_runner_and_nobody_else(store: RunnerStore):
    store.save(RUNNER, PROFILE)
    store.add_checkin(RUNNER, {"date": day(2), "pain": 3})
    store.add_checkin(RUNNER, {"date": day(1), "pain": 5})
    store.save(OTHER, {"state": "other runner"})
    assert store.export(RUNNER) == {
        "runner_id": RUNNER,
        "profile": PROFILE,
        "checkins": [{"date": day(1), "pain": 5}, {"date": day(2), "pain": 3}],
    }
    assert json.loads(json.dumps(store.export(RUNNER))) == store.export(RUNNER)


def test_after_delete_nothing_mentions_the_runner(store: RunnerStore, tmp_path):
    store.save(RUNNER, PROFILE)
    for n in range(1, 8):
        store.add_checkin(RUNNER, {"date": day(n), "pain": n})
    store.save(OTHER, {"state": "still here"})

    store.delete(RUNNER)

    assert store.load(RUNNER) is None
    assert store.export(RUNNER) == {"runner_id": RUNNER, "profile": None, "checkins": []}
    assert store.runner_ids() == [OTHER]
    assert store.load(OTHER) == {"state": "still here"}
    needle = str(RUNNER).encode()
    for path in runner_files(tmp_path):  # empty for the memory backend
        assert needle not in path.name.encode()
        assert needle not in path.read_bytes(), path
    store.delete(RUNNER)  # deleting twice is harmless


@pytest.mark.parametrize("backend", ["memory", "files"])
def test_any_json_profile_round_trips(backend):
    values = st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text()
        | st.floats(allow_nan=False, allow_infinity=False),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(None if backend == "memory" else tmp)

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.dictionaries(st.text(), values, max_size=6))
        def check(profile):
            store.save(RUNNER, profile)
            assert store.load(RUNNER) == profile

        check()


# --- files on disk ------------------------------------------------------------


def test_saved_answer_survives_reopening_the_store(data_dir):
    with open_store(data_dir) as first:
        first.save(RUNNER, PROFILE)
        first.add_checkin(RUNNER, {"date": day(1), "pain": 4})

    with open_store(data_dir) as second:  # as after a restart
        assert second.load(RUNNER) == PROFILE
        assert second.checkins(RUNNER) == [{"date": day(1), "pain": 4}]
        assert second.runner_ids() == [RUNNER]


def test_one_small_file_per_runner(data_dir):
    store = open_store(data_dir)
    store.save(RUNNER, PROFILE)
    store.save(OTHER, PROFILE)
    assert [p.name for p in runner_files(data_dir)] == [f"{OTHER}.json", f"{RUNNER}.json"]
    assert set(json.loads((data_dir / "runners" / f"{RUNNER}.json").read_text())) == {"profile"}
    assert store.load(12345) is None
    assert len(runner_files(data_dir)) == 2  # a lookup creates no file


def test_a_store_sees_what_another_store_wrote_since(data_dir):
    reader, writer = open_store(data_dir), open_store(data_dir)
    writer.save(RUNNER, {"step": 1})
    assert reader.load(RUNNER) == {"step": 1}
    writer.save(RUNNER, {"step": 2})
    assert reader.load(RUNNER) == {"step": 2}  # not a stale cached copy


def test_only_a_few_runners_are_kept_open(data_dir):
    store = FileStore(data_dir, cache_size=2)
    for rid in range(1, 6):
        store.save(rid, {"n": rid})
    assert [store.load(rid) for rid in range(1, 6)] == [{"n": n} for n in range(1, 6)]
    assert len(store._cache) <= 2


def test_leftover_temp_file_is_cleaned_on_open(data_dir):
    open_store(data_dir).save(RUNNER, PROFILE)
    leftover = data_dir / "runners" / f".{RUNNER}.json.k1ll3d.tmp"
    leftover.write_text('{"profile": {"1": {"sta')  # a save cut short by a kill

    store = open_store(data_dir)

    assert not leftover.exists()
    assert store.load(RUNNER) == PROFILE


def test_failed_write_keeps_the_old_profile(data_dir, monkeypatch):
    store = open_store(data_dir)
    store.save(RUNNER, PROFILE)

    def disk_gone(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", disk_gone)
    with pytest.raises(OSError, match="disk gone"):
        store.save(RUNNER, {"state": "never written"})
    monkeypatch.undo()

    assert store.load(RUNNER) == PROFILE  # in memory too, not only on disk
    assert [p.name for p in runner_files(data_dir)] == [f"{RUNNER}.json"]  # no temp file


@pytest.mark.parametrize(
    "garbage", [b'{"profile": {"1": {"state": "ask', b"[1, 2, 3]", b'{"profile": 7}', b"\xff\xfe"]
)
def test_corrupt_file_is_moved_aside_not_fatal(data_dir, caplog, garbage):
    store = open_store(data_dir)
    store.save(OTHER, PROFILE)
    (data_dir / "runners" / f"{RUNNER}.json").write_bytes(garbage)

    with caplog.at_level(logging.ERROR, logger="storage"):
        assert store.load(RUNNER) is None  # treated as a new runner

    aside = [p for p in runner_files(data_dir) if p.name.endswith(".corrupt")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == garbage  # kept for repair
    assert "moved aside" in caplog.text
    assert str(RUNNER) not in caplog.text  # no Telegram ids in logs
    assert store.load(OTHER) == PROFILE
    assert store.runner_ids() == [OTHER]

    store.save(RUNNER, {"state": "start"})
    assert open_store(data_dir).load(RUNNER) == {"state": "start"}
    store.delete(RUNNER)  # the corrupt copy mentions them too
    assert [p.name for p in runner_files(data_dir)] == [f"{OTHER}.json"]


KILLED_WRITER = """
import sys
from storage import open_store

store = open_store(sys.argv[1])
print("ready", flush=True)
n = 0
while True:
    n += 1
    for rid in (1, 2, 3):
        store.save(rid, {"counter": n, "history": list(range(n))})  # grows every round
        print(rid, n, flush=True)  # only once save has returned
"""


def test_sigkill_mid_save_leaves_every_file_whole(tmp_path, data_dir):
    progress = tmp_path / "progress.txt"
    with progress.open("w") as out:  # a file, not a pipe: the child never blocks on it
        child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(data_dir)], cwd=ROOT, stdout=out)
        try:
            deadline = time.monotonic() + 10
            while not progress.read_text().startswith("ready"):
                assert child.poll() is None, "writer died on its own"
                assert time.monotonic() < deadline, "writer never started"
                time.sleep(0.01)
            time.sleep(0.4)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()

    reported = {}
    for line in progress.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 2:  # the kill may cut the last line short
            reported[int(parts[0])] = int(parts[1])
    assert len(reported) == 3 and min(reported.values()) > 5, "too few saves to mean anything"

    for rid in reported:
        json.loads((data_dir / "runners" / f"{rid}.json").read_bytes())  # whole, parseable
    store = open_store(data_dir)
    for rid, last_reported in reported.items():
        profile = store.load(rid)
        # Durable once reported; at most the one save in flight went further.
        assert last_reported <= profile["counter"] <= last_reported + 1
        assert profile["history"] == list(range(profile["counter"]))
    assert not list((data_dir / "runners").glob(".*"))  # temp files gone


def test_wakeups_come_due_by_minute_and_go_with_the_runner(store):
    monday = datetime(2027, 3, 1, 7, 30, 20, tzinfo=UTC)
    store.save(1, {"state": "idle"})
    store.wakeups.add(1, monday)
    store.wakeups.add(1, monday)  # twice: one entry
    store.wakeups.add(2, monday + timedelta(minutes=1))
    store.wakeups.add(3, monday + timedelta(days=1))
    minute = monday.replace(second=0)
    assert store.wakeups.due(monday - timedelta(minutes=1)) == []
    next_minute = minute + timedelta(minutes=1)
    assert store.wakeups.due(monday + timedelta(seconds=59)) == [(minute, 1), (next_minute, 2)]
    store.wakeups.remove(2, monday + timedelta(minutes=1))
    store.delete(1)
    assert store.wakeups.due(monday + timedelta(days=2)) == [(minute + timedelta(days=1), 3)]
    assert not store.wakeups.built
    store.wakeups.mark_built()
    assert store.wakeups.built


def test_outbox_keeps_each_message_until_done_and_never_takes_a_key_twice(store):
    alert = {"key": "alert:1:500:9", "chat_id": 9, "replies": [{"template": "x.j2", "facts": {"n": 1}}]}
    store.outbox.put([alert, {**alert, "replies": []}])  # the same key again: the first is kept
    [waiting] = store.outbox.pending()
    assert (waiting["key"], waiting["replies"]) == (alert["key"], alert["replies"])
    store.outbox.done(alert["key"])
    store.outbox.put([alert])  # a turn applied again after a crash
    assert store.outbox.pending() == []


def test_what_waits_in_the_outbox_survives_reopening(data_dir):
    with open_store(data_dir) as store:
        store.outbox.put([{"key": "k", "chat_id": 1, "replies": []}])
        store.wakeups.add(1, datetime(2027, 3, 1, tzinfo=UTC))
    with open_store(data_dir) as store:
        assert [m["key"] for m in store.outbox.pending()] == ["k"]
        assert store.wakeups.due(datetime(2027, 3, 2, tzinfo=UTC)) == [(datetime(2027, 3, 1, tzinfo=UTC), 1)]


def test_a_corrupt_challenges_file_stops_the_store_and_names_the_copy_to_restore(data_dir):
    with open_store(data_dir) as store:
        store.save_challenge({"code": "abc", "name": "Spring", "participants": []})
    (data_dir / "challenges.json").write_text("{ half a file")
    with pytest.raises(CorruptFile) as caught:
        open_store(data_dir)
    aside = caught.value.aside
    assert aside.exists() and aside.read_text() == "{ half a file"
    assert str(aside) in str(caught.value) and "challenges.json" in str(caught.value)


def test_challenges_kept_in_the_old_shared_file_are_carried_over(data_dir):
    data_dir.mkdir(parents=True)
    old = {"challenges": {"1": {"code": "abc", "name": "Spring"}}, "schedules": {"5": {"time": "07:30"}}}
    (data_dir / "shared.json").write_text(json.dumps(old))
    with open_store(data_dir) as store:
        assert store.challenges() == [{"code": "abc", "name": "Spring"}]
    assert not (data_dir / "shared.json").exists()


def test_challenges_are_stored_by_code_and_replaced_whole(store):
    store.save_challenge({"code": "abc", "name": "Spring", "participants": [1, 2]})
    store.save_challenge({"code": "xyz", "name": "Autumn", "participants": []})
    store.save_challenge({"code": "abc", "name": "Spring", "participants": [2]})
    assert sorted((c["code"], c["participants"]) for c in store.challenges()) == [
        ("abc", [2]), ("xyz", [])
    ]
