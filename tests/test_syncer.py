"""The store's syncer, started as the bot starts it: writes visible at once, on disk by `durable`,
grouped, in order, and a failure heard by whoever waits rather than a silent loss."""

from __future__ import annotations

import errno
import json
import shutil

import pytest

import storage.syncer
from storage import open_store
from storage.inbox import FileInbox
from storage.syncer import Syncer


@pytest.fixture
async def syncer():
    started = Syncer()
    started.start()
    yield started
    started.stop()


async def test_a_write_is_seen_at_once_and_on_disk_once_durable(syncer, tmp_path):
    path = tmp_path / "a.json"
    syncer.write(path, b"new")
    assert syncer.pending(path) == b"new"
    await syncer.durable()
    assert path.read_bytes() == b"new" and syncer.pending(path) is None


async def test_a_runners_answer_reads_back_before_the_sync_and_survives_a_reopen(tmp_path):
    store = open_store(tmp_path / "data")
    store.syncer.start()
    store.save(1, {"state": "age", "answers": {"age": 38}})
    store.save(1, {"state": "side", "answers": {"age": 38, "side": "right"}})
    assert store.load(1)["state"] == "side"  # its own write, before any fsync
    await store.syncer.durable()
    store.syncer.stop()
    assert open_store(tmp_path / "data").load(1)["answers"] == {"age": 38, "side": "right"}


async def test_writes_to_one_file_keep_their_order_and_the_last_wins(syncer, tmp_path):
    path = tmp_path / "a.json"
    for n in range(50):
        syncer.write(path, json.dumps(n).encode())
    await syncer.durable()
    assert json.loads(path.read_bytes()) == 49


async def test_chores_run_in_order_before_durable_returns(syncer, tmp_path):
    done: list[int] = []
    for n in range(5):
        syncer.later(lambda n=n: done.append(n))
    await syncer.durable()
    assert done == [0, 1, 2, 3, 4]


async def test_a_failed_write_is_heard_by_the_waiter_and_tried_again(syncer, tmp_path):
    path = tmp_path / "not-yet" / "a.json"
    syncer.write(path, b"kept")
    with pytest.raises(OSError):
        await syncer.durable()  # no reply would claim this is saved
    assert syncer.pending(path) == b"kept"  # still held, still what reads see
    path.parent.mkdir()
    syncer.write(tmp_path / "b.json", b"later")
    await syncer.durable()  # the next round writes both
    assert path.read_bytes() == b"kept"


async def test_a_discarded_write_never_reaches_the_disk(syncer, tmp_path):
    path = tmp_path / "erased.json"
    syncer.write(path, b"health data")
    syncer.discard(path)
    await syncer.durable()
    assert not path.exists()


async def test_the_inbox_never_counts_an_update_as_received_before_its_batch_is_on_disk(
        syncer, tmp_path, monkeypatch):
    """Else a kill between the two would lose it: Telegram, never told it arrived, delivers it
    again, and the restarted bot drops it as one it has."""
    inbox = FileInbox(tmp_path / "inbox", syncer)
    write = storage.syncer.replace_file

    def full_disk(path, payload, **options):
        if path.suffix == ".json" and path.stem.isdigit():
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(path, payload, **options)

    monkeypatch.setattr(storage.syncer, "replace_file", full_disk)
    inbox.put([{"update_id": 41, "message": {"text": "38"}}])
    with pytest.raises(OSError):
        await syncer.durable()
    killed_now = shutil.copytree(tmp_path / "inbox", tmp_path / "as-a-kill-leaves-it")
    assert FileInbox(killed_now).put([{"update_id": 41}]) != []  # Telegram's redelivery is taken
    monkeypatch.setattr(storage.syncer, "replace_file", write)  # space again
    await syncer.durable()
    assert FileInbox(tmp_path / "inbox").pending() == [{"update_id": 41, "message": {"text": "38"}}]
    assert 41 in json.loads((tmp_path / "inbox" / "recent.json").read_bytes())["ids"]


async def test_a_slow_round_is_logged_for_whoever_runs_the_bot(syncer, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(storage.syncer, "SLOW_ROUND_SECONDS", 0.0)  # every round is "slow"
    syncer.write(tmp_path / "a.json", b"{}")
    await syncer.durable()
    assert any(storage.syncer.SLOW_ROUND in line and "(files: 1," in line for line in caplog.messages)
