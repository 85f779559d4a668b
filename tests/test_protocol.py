"""A protocol file with a mistake stops start-up with a message naming file, entry and problem."""

from pathlib import Path

import pytest

from bot.cli import main
from conversations.protocol import DEFAULT_PROTOCOL, ProtocolError, load_protocol

GOOD = DEFAULT_PROTOCOL.read_text(encoding="utf-8")


def protocol_with(tmp_path: Path, old: str, new: str) -> Path:
    assert old in GOOD, f"test setup: {old!r} not in the protocol"
    path = tmp_path / "clinic-protocol.toml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    return path


def test_shipped_protocol_loads_with_four_phases():
    protocol = load_protocol()
    assert [phase.name for phase in protocol.phases] == ["Calm", "Strength", "Spring", "Maintain"]


def test_unknown_exercise_in_a_phase_is_named(tmp_path):
    path = protocol_with(tmp_path, 'exercise = "skipping"', 'exercise = "skiping"')
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path)
    message = str(caught.value)
    assert str(path) in message
    assert "phase 3" in message and "sessions.plyometric[1]" in message
    assert "unknown exercise 'skiping'" in message


def test_negative_dose_is_named(tmp_path):
    path = protocol_with(tmp_path, "{ from_week = 1, sets = 5, seconds = 30 }",
                         "{ from_week = 1, sets = -5, seconds = 30 }")
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path)
    message = str(caught.value)
    assert str(path) in message
    assert "doses.calm_hold.steps[0].sets" in message and "greater than 0" in message


def test_unsafe_exercise_without_a_flat_alternative_is_refused(tmp_path):
    path = protocol_with(tmp_path, 'flat_alternative = "flat_strides"\n', "")
    with pytest.raises(ProtocolError, match=r"exercises\[\d+\] \(uphill_strides\)"):
        load_protocol(path)


def test_broken_toml_is_reported_not_raised(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[[exercises]\nid = ", encoding="utf-8")
    with pytest.raises(ProtocolError, match="not valid TOML"):
        load_protocol(path)


def test_start_up_stops_on_a_bad_protocol(tmp_path, capsys):
    path = protocol_with(tmp_path, 'exercise = "skipping"', 'exercise = "skiping"')
    status = main(["--protocol", str(path), "plan", "--answers", "-"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert "unknown exercise 'skiping'" in captured.err and str(path) in captured.err
