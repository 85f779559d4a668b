"""The inbox: updates kept before Telegram is told they arrived, each handled once."""

from __future__ import annotations

import time

import pytest

from storage.inbox import RECENT, FileInbox, MemoryInbox


def update(update_id: int, text: str = "hi") -> dict:
    return {"update_id": update_id, "message": {"text": text}}


@pytest.fixture(params=["files", "memory"])
def make_inbox(request, tmp_path):
    if request.param == "memory":
        inbox = MemoryInbox()
        return lambda: inbox
    return lambda: FileInbox(tmp_path / "inbox")


def test_what_was_kept_and_not_done_is_handed_over_again(make_inbox):
    inbox = make_inbox()
    inbox.put([update(1), update(2), update(3)])
    inbox.done(2)
    assert [u["update_id"] for u in make_inbox().pending()] == [1, 3]
    inbox.done(1)
    inbox.done(3)
    assert make_inbox().pending() == []


def test_an_update_delivered_again_is_let_through_once(make_inbox):
    inbox = make_inbox()
    assert len(inbox.put([update(1), update(2)])) == 2
    inbox.done(1)
    inbox.done(2)
    again = make_inbox()  # after a restart, Telegram delivers the unconfirmed batch again
    assert again.put([update(1), update(2), update(3)]) == [update(3)]


def test_ids_that_start_again_lower_are_new_updates(make_inbox):
    inbox = make_inbox()
    inbox.put([update(900_000)])
    assert inbox.put([update(5)]) == [update(5)]  # Telegram may restart ids after a quiet week


def test_the_recent_ids_are_bounded(tmp_path):
    inbox = FileInbox(tmp_path / "inbox")
    for update_id in range(RECENT + 10):
        inbox.put([update(update_id)])
        inbox.done(update_id)
    reopened = FileInbox(tmp_path / "inbox")
    assert reopened.put([update(RECENT + 5)]) == []  # still remembered
    assert reopened.put([update(3)]) == [update(3)]  # long forgotten: Telegram never sends it again
    assert len((tmp_path / "inbox" / "recent.json").read_text()) < 20 * RECENT


def test_a_batch_kept_just_before_a_crash_counts_as_received(tmp_path):
    inbox = FileInbox(tmp_path / "inbox")
    inbox.put([update(7)])
    (tmp_path / "inbox" / "recent.json").unlink()  # killed between the two writes
    reopened = FileInbox(tmp_path / "inbox")
    assert [u["update_id"] for u in reopened.pending()] == [7]
    assert reopened.put([update(7)]) == []


def test_done_batches_leave_no_files(tmp_path):
    inbox = FileInbox(tmp_path / "inbox")
    inbox.put([update(1), update(2)])
    inbox.done(1)
    inbox.done(2)
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == ["recent.json"]


def test_a_batch_all_done_before_its_file_went_is_tidied_at_start_up(tmp_path):
    inbox = FileInbox(tmp_path / "inbox")
    inbox.put([update(1), update(2)])
    inbox.done(1)
    (tmp_path / "inbox" / "1.done").write_text("1\n2\n")  # killed just before removing the batch
    assert FileInbox(tmp_path / "inbox").pending() == []
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == ["recent.json"]


def test_after_a_quiet_week_ids_seen_before_are_new_updates(tmp_path, monkeypatch):
    """Telegram restarts its ids at random after a week without updates: they may fall among
    those seen before the quiet spell, and are real updates."""
    inbox = FileInbox(tmp_path / "inbox")
    inbox.put([update(41)])
    inbox.done(41)
    week_later = time.time() + 7 * 24 * 3600
    monkeypatch.setattr("storage.inbox.time.time", lambda: week_later)
    assert FileInbox(tmp_path / "inbox").put([update(41)]) == [update(41)]
