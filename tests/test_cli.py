"""The command line as a clinician uses it: triage and plan from a JSON file or stdin."""

import io
import json

import pytest

from bot.cli import main
from tests.test_vignettes import load_vignettes

VIGNETTES = {v["name"]: v["answers"] for v in load_vignettes()}


def run(argv, capsys, monkeypatch, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_bad_answers_exit_2_name_each_field_and_print_nothing(capsys, monkeypatch):
    bad = dict(VIGNETTES["typical-strength"], age=7, pain_now="high", shoe_size=44)
    del bad["trend"]
    status, out, err = run(["triage", "--answers", "-"], capsys, monkeypatch, json.dumps(bad))
    assert status == 2
    assert out == ""
    for field in ("age", "pain_now", "shoe_size", "trend"):
        assert any(line.startswith(f"{field}:") for line in err.splitlines()), field


def test_not_json_is_a_clear_error(capsys, monkeypatch):
    status, out, err = run(["triage", "--answers", "-"], capsys, monkeypatch, "{age: 40")
    assert (status, out) == (2, "")
    assert "not valid JSON" in err


def test_missing_file_is_a_clear_error(capsys, monkeypatch, tmp_path):
    status, out, err = run(["triage", "--answers", str(tmp_path / "nope.json")], capsys, monkeypatch)
    assert (status, out) == (2, "")
    assert "cannot read" in err


def test_plan_prints_the_day_with_doses_tempo_and_running(capsys, monkeypatch):
    answers = json.dumps(VIGNETTES["typical-strength"])
    argv = ["plan", "--answers", "-", "--date", "2026-11-23", "--week", "4"]
    status, out, _ = run(argv, capsys, monkeypatch, answers)
    assert status == 0
    assert "Strength day" in out and "Monday 23 November" in out
    assert "4 x 10" in out and "3 s up, 3 s down" in out
    assert "Running" in out and "not a diagnosis" in out


def test_plan_json_for_insertional_runner_lists_the_modifications(capsys, monkeypatch):
    answers = json.dumps(VIGNETTES["insertional-flats"])
    argv = ["plan", "--answers", "-", "--date", "2026-11-25", "--json"]
    status, out, _ = run(argv, capsys, monkeypatch, answers)
    plan = json.loads(out)["plan"]
    assert status == 0 and plan["day_type"] == "strength"
    assert {"flat_floor_only", "higher_drop_or_heel_lift"} <= set(plan["modifications"])
    assert all("step" not in e["name"] for e in plan["exercises"])
    assert all({"sets", "reps", "tempo", "load", "rest_seconds", "dose"} <= e.keys()
               for e in plan["exercises"])


def test_plan_for_urgent_answers_gives_no_plan_and_says_get_help(capsys, monkeypatch):
    answers = json.dumps(VIGNETTES["rupture-low-pain"])
    status, out, _ = run(["plan", "--answers", "-"], capsys, monkeypatch, answers)
    assert status == 0
    assert "today" in out and "Strength day" not in out
    status, out, _ = run(["plan", "--answers", "-", "--json"], capsys, monkeypatch, answers)
    assert json.loads(out)["plan"] is None


def test_bad_date_is_refused_with_the_reason(capsys, monkeypatch):
    answers = json.dumps(VIGNETTES["typical-strength"])
    with pytest.raises(SystemExit) as exit_:
        run(["plan", "--answers", "-", "--date", "30/03/2026"], capsys, monkeypatch, answers)
    assert exit_.value.code == 2
    assert "is not a date" in capsys.readouterr().err


def test_clinic_staff_create_list_and_export_a_challenge(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ACHILLES_DATA_DIR", str(tmp_path))
    status, out, _ = run(
        ["challenge", "create", "--name", "Spring", "--start", "2099-04-05", "--weeks", "6", "--places", "12",
         "--session", "Wed 18:30 Strength class"],
        capsys, monkeypatch,
    )
    assert status == 0
    code = out.split("code ")[1].split()[0]
    assert f"?start={code}" in out
    status, out, _ = run(["challenge", "list"], capsys, monkeypatch)
    assert code in out and "0/12 places" in out
    status, out, _ = run(["challenge", "export", code], capsys, monkeypatch)
    assert out.splitlines()[0].startswith("date,participant_id,name")
    status, out, err = run(["challenge", "export", "nope"], capsys, monkeypatch)
    assert (status, out) == (2, "") and "no challenge" in err


def test_challenge_with_a_bad_session_is_refused_with_the_reason(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ACHILLES_DATA_DIR", str(tmp_path))
    argv = ["challenge", "create", "--name", "X", "--start", "2099-04-05", "--weeks", "6",
            "--session", "Someday 18:30 Class"]
    status, out, err = run(argv, capsys, monkeypatch)
    assert (status, out) == (2, "") and "weekday" in err
