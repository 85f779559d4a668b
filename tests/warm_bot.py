"""`achilles-coach run` in processes forked from a parent that has already imported the bot.

`python -m bot run` spends about 0.8 s of CPU importing python-telegram-bot, aiohttp, pydantic
and the conversation before it asks for its first update, and the kill tests start a bot about
sixteen times. multiprocessing's fork server imports this module (and so the bot) once per test
worker, then forks a process for each start: its own OS process and pid, running the same
`bot.cli.main(["run", ...])` with the environment it is given, and killed by SIGKILL like any
other. `tests/test_reliability.py` and `tests/test_vignettes.py` still run `python -m bot` itself.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import bot.cli

FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload([__name__])


def _run(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
    sys.exit(bot.cli.main(argv))


def start(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> multiprocessing.Process:
    """The bot's command line with `argv`, in a new process; its standard error goes to `log`."""
    process = FORKS.Process(target=_run, args=(argv, env, cwd, log), daemon=True)
    process.start()
    return process
