"""The scripted runner now lives in `testkit.runner` (the benches use it too)."""

from testkit.runner import REMINDER_SETUP, TYPICAL_RUNNER, onboard_in_engine

__all__ = ["REMINDER_SETUP", "TYPICAL_RUNNER", "onboard_in_engine"]
