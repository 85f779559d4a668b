"""Persistence for runners. The rest of the bot only needs these two names:

    store = open_store(settings.data_dir)   # None: in memory (tests)
    store.save(user_id, profile)            # durable when it returns

See RunnerStore for the full interface and files.py for the layout on disk.
"""

from __future__ import annotations

from pathlib import Path

from .base import RunnerStore
from .files import FileStore
from .memory import MemoryStore


def open_store(data_dir: str | Path | None) -> RunnerStore:
    """A store in `data_dir` (TinyDB files, created if missing), or in memory for None."""
    if data_dir is None:
        return MemoryStore()
    return FileStore(data_dir)


__all__ = ["RunnerStore", "open_store"]
