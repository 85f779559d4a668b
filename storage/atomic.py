"""Crash-safe files: a reader sees the old content or the new, never half of it."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinydb.storages import Storage

if TYPE_CHECKING:
    from .syncer import Syncer

logger = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"
CORRUPT_SUFFIX = ".corrupt"

# (inode, mtime, size): os.replace gives every write a new inode, so this changes
# whenever the file is rewritten, without reading it.
Stamp = tuple[int, int, int]


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def fsync_dir(directory: Path) -> None:
    """Make renames and unlinks in `directory` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, payload: bytes, *, durable: bool = True) -> Stamp:
    """Replace `path` with `payload`, durably, and return the new file's stamp.

    The directory fsync makes the rename itself durable. `durable=False` skips both fsyncs, for
    what only saves work if it survives: still whole or absent after a killed process, perhaps
    the old content after a power cut.
    """
    stamp = replace_file(path, payload, fsync=durable)
    if durable:
        fsync_dir(path.parent)
    return stamp


def replace_file(path: Path, payload: bytes, *, fsync: bool) -> Stamp:
    """Replace `path` with `payload` through a temp file and a rename; returns the new stamp.

    The temp file lives in the same directory (os.replace is only atomic within one file system)
    and, with `fsync`, is synced before the rename, so after a crash `path` holds either the old
    or the new bytes. mkstemp creates the file 0600: runners' health data is private.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
            stamp = _stamp(os.fstat(f.fileno()))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return stamp


def remove_temp_files(directory: Path) -> int:
    """Delete temp files a killed process left behind; returns how many.

    Only safe while no other process writes to `directory` (one bot per data dir).
    """
    removed = 0
    for leftover in directory.glob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            removed += 1
    return removed


def _is_tinydb_data(data: Any) -> bool:
    # {table: {doc_id: {...}}} with numeric ids; anything else would make TinyDB
    # fail later, far from the cause, so it counts as corrupt here.
    return isinstance(data, dict) and all(
        isinstance(table, dict)
        and all(k.isascii() and k.isdigit() and isinstance(d, dict) for k, d in table.items())
        for table in data.values()
    )


class CorruptFile(Exception):
    """A file that must not be treated as empty is unreadable; it was moved aside."""

    def __init__(self, path: Path, aside: Path) -> None:
        super().__init__(f"{path} is unreadable. It was moved to {aside}: repair or restore it there, "
                         f"move it back to {path.name}, and start again.")
        self.path, self.aside = path, aside


class AtomicJSONStorage(Storage):
    """TinyDB storage for one JSON file, written with `atomic_write` (or handed to the store's
    `Syncer`, which writes it the same way, grouped with others).

    TinyDB re-reads the whole database on every operation, so the last content
    read or written is kept and reused while the file's stamp is unchanged (a
    file rewritten by anyone else is still picked up), or while the syncer still
    holds what was written. A missing file is an empty database and is only
    created by the first write. A file that does not parse is moved aside as
    *.corrupt and treated as empty, so one bad file can't take the bot down.
    """

    def __init__(self, path: str | Path, strict: bool = False, syncer: Syncer | None = None) -> None:
        super().__init__()
        self._path = Path(path)
        self._strict = strict  # a corrupt file stops everything instead of starting afresh
        self._syncer = syncer
        self._data: dict[str, dict[str, Any]] | None = None
        self._stamp: Stamp | None = None
        self._written: bytes | None = None  # the last bytes handed to the syncer

    def read(self) -> dict[str, dict[str, Any]] | None:
        handed = self._syncer.pending(self._path) if self._syncer is not None else None
        if handed is not None:  # on its way to disk: ahead of the file
            if handed is not self._written or self._data is None:
                self._data, self._written, self._stamp = json.loads(handed), handed, None
            return self._data
        try:
            with open(self._path, "rb") as f:  # stat the very file we read
                stamp = _stamp(os.fstat(f.fileno()))
                if self._data is not None and stamp == self._stamp:
                    return self._data
                raw = f.read()
        except FileNotFoundError:
            self._forget()
            return None
        try:
            data = json.loads(raw)
            if not _is_tinydb_data(data):
                raise ValueError("not a TinyDB database")
        except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
            aside = self._move_aside(exc)
            if self._strict:
                raise CorruptFile(self._path, aside) from None
            return None
        self._data, self._stamp = data, stamp
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        try:
            payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
            if self._syncer is None:
                self._stamp = atomic_write(self._path, payload)
            else:
                self._written = payload
                self._syncer.write(self._path, payload, partial(self._on_disk, payload))
            self._data = data
        except BaseException:
            # TinyDB edits the dict `read` returned in place before calling
            # write, so after a failed write our copy is ahead of the disk.
            self._forget()
            raise

    def _on_disk(self, payload: bytes, stamp: Stamp) -> None:
        if payload is self._written:  # else newer bytes are on their way
            self._stamp = stamp

    def close(self) -> None:
        self._forget()

    def _forget(self) -> None:
        self._data = self._stamp = self._written = None

    def _move_aside(self, exc: Exception) -> Path:
        self._forget()
        aside = self._path.with_name(f"{self._path.name}.{time.time_ns()}{CORRUPT_SUFFIX}")
        os.replace(self._path, aside)
        fsync_dir(self._path.parent)
        # Kept, not deleted, so it can be repaired by hand. The file name holds the
        # runner's Telegram id, which stays out of the logs.
        logger.error(
            "Unreadable runner file (%s) moved aside as *%s; that runner starts afresh",
            type(exc).__name__,
            CORRUPT_SUFFIX,
        )
        return aside
