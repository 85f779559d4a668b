"""Every public vignette of the clinical brief passes through the `triage` command."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

VIGNETTES = Path(__file__).resolve().parents[2] / "shared" / "clinical" / "vignettes.json"


def load_vignettes() -> list[dict]:
    # No skip when the file is missing: every build must pass these cases.
    return json.loads(VIGNETTES.read_text(encoding="utf-8"))["vignettes"]


def wrong_fields(expect: dict, assessment: dict) -> list[str]:
    wrong = []
    for key in ("triage", "referral", "phase"):
        if key in expect and assessment[key] != expect[key]:
            wrong.append(f"{key}: expected {expect[key]!r}, got {assessment[key]!r}")
    if "running" in expect:
        allowed = expect["running"] if isinstance(expect["running"], list) else [expect["running"]]
        if assessment["running"] not in allowed:
            wrong.append(f"running: expected one of {allowed}, got {assessment['running']!r}")
    for modification in expect.get("modifications", []):
        if modification not in assessment["modifications"]:
            wrong.append(f"modifications: {modification!r} missing")
    fired = [reason["rule"] for reason in assessment["reasons"]]
    for rule in expect.get("rules", []):
        if rule not in fired:
            wrong.append(f"rules: {rule} missing from {fired}")
    for key in expect.keys() - {"triage", "referral", "phase", "running", "modifications", "rules"}:
        wrong.append(f"expect has a key this test does not check: {key}")
    return wrong


@pytest.mark.parametrize("vignette", load_vignettes(), ids=lambda v: v["name"])
def test_vignette_through_triage_command(vignette, tmp_path, capsys):
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(vignette["answers"]), encoding="utf-8")

    status = main(["triage", "--answers", str(answers_file)])

    out = capsys.readouterr().out
    assert status == 0
    assessment = json.loads(out)
    assert wrong_fields(vignette["expect"], assessment) == []
    for reason in assessment["reasons"]:
        assert reason["text"].strip(), f"{reason['rule']} has no text for the runner"


def test_installed_command_reads_answers_from_standard_input():
    vignette = load_vignettes()[0]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "triage", "--answers", "-"],
        input=json.dumps(vignette["answers"]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["triage"] == vignette["expect"]["triage"]
