"""Group commit: the store's writes made durable together, on a thread of their own.

Until `start`, each write is made durable at once in the caller's thread (the command line, and
tests that drive the engine). Once the bot starts it, `write` only hands the bytes over: `pending`
shows them at once (every read through the store sees its own writes). `await durable()` asks
the syncer's thread to write everything handed over so far (temp file, fsync, rename), sync each
directory once, and returns when that is on disk: the bot sends no reply and confirms no update
before that. So the event loop never waits on a disk, the engine runs on the loop without a
thread hop per update, and a burst of 300 answers costs a few directory syncs instead of 300.
The thread writes when asked, not at each write: an update's batch in the inbox and the answer
it brings are usually synced together, in one round. `later` hands it small chores that need no
sync but must keep their order (the inbox's marks), so the loop never waits on a file system
busy with a sync. They run once the round's writes are on disk, so what a chore records may rely
on them: the inbox's list of ids received never names an update whose batch a kill could lose.

A write that fails (a full disk) stays handed over and is tried again a second later; whoever
awaits it hears of the failure, so no reply claims what is not on disk.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .atomic import Stamp, atomic_write, fsync_dir, replace_file

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0
PARALLEL = 8  # files synced at once: the file system commits them together, one wait instead of many
UNASKED_SECONDS = 0.1  # what nobody awaits is written after this long anyway
SLOW_ROUND_SECONDS = 0.1  # a round slower than this is logged: every reply waiting on it is late
SLOW_ROUND = "slow disk: a sync round took"

OnDisk = Callable[[Stamp], None]


class Syncer:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._files: dict[Path, tuple[bytes, OnDisk | None]] = {}  # handed over, not yet taken
        self._writing: dict[Path, bytes] = {}  # taken by the thread, not yet renamed into place
        self._dirs: set[Path] = set()
        self._chores: list[Callable[[], object]] = []
        self._handed = 0  # writes and directory syncs handed over so far
        self._synced = 0  # how many of them are on disk
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self._asked = False  # someone awaits `durable`
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._stopping = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="fsync")
        self._thread = threading.Thread(target=self._run, name="syncer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is handed over, then go back to writing at once."""
        if self._thread is None:
            return
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._thread.join()
        self._thread = None
        self._pool.shutdown()

    def write(self, path: Path, payload: bytes, on_disk: OnDisk | None = None) -> None:
        """Replace `path` with `payload` (atomically); `on_disk` gets the new file's stamp."""
        if self._thread is None:
            stamp = atomic_write(path, payload)
            if on_disk is not None:
                on_disk(stamp)
            return
        with self._lock:
            self._files.pop(path, None)  # the latest bytes win; the older never need writing
            self._files[path] = (payload, on_disk)
            self._handed += 1

    def sync_dir(self, directory: Path) -> None:
        """Make the entries just created, renamed or removed in `directory` durable."""
        if self._thread is None:
            fsync_dir(directory)
            return
        with self._lock:
            self._dirs.add(directory)
            self._handed += 1

    def later(self, chore: Callable[[], object]) -> None:
        """Run `chore` on the syncer's thread, after those handed before it and once the writes
        handed before it are on disk (at once until started)."""
        if self._thread is None:
            chore()
            return
        with self._lock:
            self._chores.append(chore)
            self._handed += 1

    def pending(self, path: Path) -> bytes | None:
        """The bytes handed over for `path` and not yet in place, if any."""
        with self._lock:
            handed = self._files.get(path)
            return handed[0] if handed is not None else self._writing.get(path)

    def discard(self, path: Path) -> None:
        """Forget what was handed over for `path` (the file is being erased): once this returns,
        no write will bring it back."""
        with self._lock:
            self._files.pop(path, None)
            while path in self._writing:
                self._lock.wait()

    async def durable(self) -> None:
        """Return once everything handed over so far is on disk (raises if it could not be)."""
        with self._lock:
            target = self._handed
            if self._synced >= target:
                return
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append((target, waiter))
            self._asked = True
            self._lock.notify_all()
        await waiter

    def _run(self) -> None:
        while True:
            with self._lock:
                while not (self._asked or self._stopping):
                    if not self._lock.wait(UNASKED_SECONDS) and (self._files or self._dirs or self._chores):
                        break
                if self._stopping and not (self._files or self._dirs or self._chores):
                    return
                self._asked = False
                files, self._files = self._files, {}
                dirs, self._dirs = self._dirs, set()
                chores, self._chores = self._chores, []
                self._writing = {path: payload for path, (payload, _) in files.items()}
                target = self._handed
            started = time.perf_counter()
            try:
                failure = self._write(files, dirs)
            except Exception as error:  # never a dead thread that every reply would wait for
                log.exception("the syncer failed a round; trying again")
                failure = error
                with self._lock:
                    for path, handed in files.items():
                        self._files.setdefault(path, handed)
                    self._dirs |= dirs
            took = time.perf_counter() - started
            if took > SLOW_ROUND_SECONDS:
                log.warning("%s %.0f ms (files: %d, folders: %d)", SLOW_ROUND, took * 1000,
                            len(files), len(dirs))
            if failure is None:
                for chore in chores:
                    try:
                        chore()
                    except Exception as error:  # bookkeeping only: the next start-up tidies up
                        log.warning("a chore failed: %s", type(error).__name__)
            else:
                with self._lock:
                    self._chores[:0] = chores  # after the writes they follow, in the next round
            with self._lock:
                self._writing = {}
                if failure is None:
                    self._synced = target
                settled = [(w, failure) for t, w in self._waiters if t <= target]
                self._waiters = [(t, w) for t, w in self._waiters if t > target]
                self._lock.notify_all()
            for waiter, error in settled:
                waiter.get_loop().call_soon_threadsafe(_settle, waiter, error)
            if failure is not None:
                if self._stopping:  # nothing of it was confirmed to anyone: give up
                    log.error("stopping with writes that could not be made")
                    return
                time.sleep(RETRY_SECONDS)  # a full disk: not a busy loop

    def _write(self, files: dict[Path, tuple[bytes, OnDisk | None]], dirs: set[Path]) -> Exception | None:
        """Each file (temp file, fsync, rename), then each folder synced; the fsyncs of a round run
        side by side."""
        failure = None
        written = self._pool.map(self._write_one, files.items())
        for (path, handed), error in zip(files.items(), written, strict=True):
            if error is None:
                dirs.add(path.parent)
                continue
            failure = error
            with self._lock:
                self._files.setdefault(path, handed)  # tried again, unless newer bytes came
        for directory, error in zip(dirs, self._pool.map(sync_dir_or_parent, dirs), strict=True):
            if error is not None:
                failure = error
                with self._lock:
                    self._dirs.add(directory)
        return failure

    @staticmethod
    def _write_one(item: tuple[Path, tuple[bytes, OnDisk | None]]) -> OSError | None:
        path, (payload, on_disk) = item
        try:
            stamp = replace_file(path, payload, fsync=True)
        except OSError as error:
            log.error("could not write a file (%s); trying again", type(error).__name__)
            return error
        if on_disk is not None:
            on_disk(stamp)
        return None


def sync_dir_or_parent(directory: Path) -> OSError | None:
    try:
        try:
            fsync_dir(directory)
        except FileNotFoundError:  # removed since (an emptied wake-up minute): its parent says so
            fsync_dir(directory.parent)
    except OSError as error:
        log.error("could not sync a folder (%s); trying again", type(error).__name__)
        return error
    return None


def _settle(waiter: asyncio.Future, error: Exception | None) -> None:
    if waiter.done():
        return
    if error is None:
        waiter.set_result(None)
    else:
        waiter.set_exception(error)
