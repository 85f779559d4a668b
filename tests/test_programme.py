"""Twelve weeks of the programme through the real engine, as the brief says they should go.
The same simulation writes docs/programme.md, for a clinician to read."""

import re

import pytest

from bot.programme import DOCUMENT, SCRIPTS, document, simulate
from conversations.protocol import default_protocol

PROTOCOL = default_protocol()


@pytest.fixture(scope="module")
def weeks():
    return {script.name: simulate(script, PROTOCOL) for script in SCRIPTS}


def dose(week) -> str:
    return re.search(r"\d+ x \d+", week.strength).group()


def test_docs_hold_the_current_simulation():
    assert DOCUMENT.read_text(encoding="utf-8") == document(PROTOCOL), (
        "docs/programme.md is out of date: run `achilles-coach programme`"
    )


def test_pain_at_4_that_settles_climbs_every_block_of_heavy_slow_resistance(weeks):
    steady = weeks["steady"]
    assert [dose(w) for w in steady] == [
        "3 x 12",
        "3 x 12",
        "4 x 10",
        "4 x 10",
        "4 x 8",
        "4 x 8",
        "4 x 8",
        "4 x 6",
        "4 x 6",
        "4 x 6",
        "4 x 6",
        "4 x 6",
    ]  # Beyer: week 1 3x15, weeks 2-3 3x12, 4-5 4x10, 6-8 4x8, 9-12 4x6, one week further each good week
    assert all(w.phase == 2 and w.decision == "progress" for w in steady)
    assert not any("add load" in w.strength for w in steady), "3-5/10 moves on, but adds no extra load"
    assert "R8: see a clinician" in steady[-1].retest, "12 weeks of real loading, no better: a referral"
    assert all(w.running.startswith("hold") for w in steady)


def test_pain_0_to_2_adds_load_within_each_block_and_the_gates_open_the_next_phases(weeks):
    easy = weeks["easy"]
    assert [w.phase for w in easy] == [2, 2, 2, 3, 3, 4, 4, 4, 4, 4, 4, 4]
    assert all("add load" in w.strength for w in easy if w.phase == 2)
    assert all(dose(w) == "3 x 8" for w in easy if w.phase >= 3), "strength kept twice a week, heavy"
    assert all(w.running.startswith("progress, up to 5.5 km") for w in easy), "no run over 10% longer"


def test_a_flare_steps_a_phase_back_stops_running_and_the_ladder_brings_it_back(weeks):
    flare = weeks["flare"]
    assert (flare[3].phase, flare[4].phase) == (3, 2), "two bad mornings in a row in week 5: one phase back"
    assert flare[4].decision == "hold" and dose(flare[4]) == "3 x 15", "the strength block starts again"
    assert flare[4].running.startswith("walk-run") and flare[4].ladder[0] == 1
    assert flare[5].running.startswith("hold"), "the ladder climbed, running again, easy"


def test_a_stopped_runner_climbs_the_walk_run_ladder_with_a_rung_back_after_a_bad_session(weeks):
    stopped = weeks["stopped"]
    assert stopped[0].running.startswith("progress") and stopped[1].running == "stopped"
    climbed = [rung for week in stopped for rung in week.ladder]
    assert climbed == [1, 2, 2, 3, 3, 2, 2, 3, 3, 4, 4, 5, 5]  # a bad session at rung 3: back to 2
    assert stopped[3].running.startswith("hold")
