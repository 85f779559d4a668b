"""A clock the tests can move: real time-zone data, simulated time."""

from datetime import datetime, timedelta


class Clock:
    def __init__(self, start: datetime) -> None:
        assert start.tzinfo is not None, "the clock keeps aware (UTC) times"
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta
