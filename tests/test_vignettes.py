"""Every vignette passes through the `triage` command: the clinical brief's public cases
(`vignettes/public.json`, a copy kept in the repository) and ours, both sides of every threshold
(`vignettes/thresholds.json`)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

HERE = Path(__file__).resolve().parent / "vignettes"
CHECKED = {"triage", "referral", "phase", "running", "modifications", "rules", "not_rules"}


def load_vignettes(name: str = "public.json") -> list[dict]:
    """Vignettes with whole answers; a file with a 'base' gives each case as base + changes."""
    document = json.loads((HERE / name).read_text(encoding="utf-8"))
    base = document.get("base")
    if base is None:
        return document["vignettes"]
    return [dict(case, answers={**base, **case["changes"]}) for case in document["vignettes"]]


ALL = load_vignettes("public.json") + load_vignettes("thresholds.json")


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
    for rule in expect.get("not_rules", []):
        if rule in fired:
            wrong.append(f"rules: {rule} fired but must not")
    for key in expect.keys() - CHECKED:
        wrong.append(f"expect has a key this test does not check: {key}")
    return wrong


def test_every_rule_of_the_brief_has_cases_on_both_sides():
    fired = {rule for case in load_vignettes("thresholds.json") for rule in case["expect"].get("rules", [])}
    spared = {
        rule for case in load_vignettes("thresholds.json") for rule in case["expect"].get("not_rules", [])
    }
    every_rule = {f"R{n}" for n in range(1, 14)}
    assert every_rule <= fired
    thresholds = {"R1", "R5", "R7", "R8", "R11", "R12", "R13"}
    assert thresholds <= spared


@pytest.mark.parametrize("vignette", ALL, ids=lambda v: v["name"])
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
