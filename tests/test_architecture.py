"""The shape the code keeps: one machine moves every state, records hold data and never
English, templates hold words and never a clinical number."""

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conversations import flow
from conversations.clinic import load_clinic
from conversations.engine import Engine
from conversations.messages import TEMPLATES_DIR
from conversations.protocol import default_protocol
from conversations.replies import Event
from conversations.turn import Turn
from storage import open_store
from tests.clock import Clock
from tests.runner_script import REMINDER_SETUP, TYPICAL_RUNNER
from tests.test_conversation import Phone
from tests.test_daily import check_in

ROOT = Path(__file__).resolve().parent.parent
MACHINE_KEYS = {"state", "mode", "reach"}


def assignments_of_machine_keys(tree: ast.AST) -> list[str]:
    """Every place that writes a record's state, mode or reach directly."""
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            key = (
                target.slice.value
                if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant)
                else None
            )
            if key in MACHINE_KEYS:
                found.append(f"line {node.lineno}: [{key!r}] = ...")
            if isinstance(target, ast.Attribute) and target.attr in MACHINE_KEYS:
                found.append(f"line {node.lineno}: .{target.attr} = ...")
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if keys & MACHINE_KEYS:
                found.append(f"line {node.lineno}: a dict with {sorted(keys & MACHINE_KEYS)}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            named = {keyword.arg for keyword in node.keywords}
            if node.func.attr in ("update", "setdefault") and named & MACHINE_KEYS:
                found.append(f"line {node.lineno}: .{node.func.attr}({sorted(named & MACHINE_KEYS)}=...)")
            first = node.args[0] if node.args else None
            if (
                node.func.attr in ("setdefault", "__setitem__")
                and isinstance(first, ast.Constant)
                and first.value in MACHINE_KEYS
            ):
                found.append(f"line {node.lineno}: .{node.func.attr}({first.value!r}, ...)")
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr" and len(node.args) > 1:
            name = node.args[1]
            if isinstance(name, ast.Constant) and name.value in MACHINE_KEYS:
                found.append(f"line {node.lineno}: setattr(..., {name.value!r}, ...)")
    return found


def test_no_code_outside_the_machine_assigns_a_conversation_state():
    offenders = {}
    for package in ("bot", "conversations", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "conversations" / "flow.py":
                continue  # the machine itself
            found = assignments_of_machine_keys(ast.parse(path.read_text(encoding="utf-8")))
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_the_state_check_would_catch_each_way_of_assigning_a_state_by_hand():
    sneaky = [
        'record["state"] = "idle"',
        'turn.mode = "none"',
        'record.update(state="idle")',
        'record = {"runner_id": 1, "state": "welcome"}',
        'record.setdefault("reach", "blocked")',
        'setattr(turn, "state", "urgent")',
    ]
    for line in sneaky:
        assert assignments_of_machine_keys(ast.parse(line)), line


def test_every_callback_and_condition_the_machine_names_exists():
    missing = [name for name in flow.callbacks() if not callable(getattr(Turn, name, None))]
    missing += [name for name in flow.conditions() if not callable(getattr(flow.Conversation, name, None))]
    assert missing == []


def words_of(template: Path) -> str:
    """A template's literal text: without jinja's tags, expressions and comments."""
    text = template.read_text(encoding="utf-8")
    return re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", text, flags=re.DOTALL)


CLINICAL_NUMBER = re.compile(
    r"(?<!0 to )(?<!0-)\b\d+\s*/\s*10\b"  # a pain level ("5/10"), not the 0-10 scale itself
    r"|\b\d+\s*%"  # a percentage
    r"|\b(?:under|over|more than|fewer than|at least|up to|below|above)\s+\d+\b"
)


def test_no_template_repeats_a_clinical_threshold():
    found = {}
    for template in TEMPLATES_DIR.rglob("*.j2"):
        hits = CLINICAL_NUMBER.findall(words_of(template))
        if hits:
            found[str(template.relative_to(TEMPLATES_DIR))] = hits
    assert found == {}, "use `limits` (conversations/thresholds.py) in these templates"


def test_the_threshold_check_would_catch_a_number_written_into_a_template():
    assert CLINICAL_NUMBER.search("Keep pain at 5/10 or under")
    assert CLINICAL_NUMBER.search("running at least 80% of your week")
    assert CLINICAL_NUMBER.search("fewer than 10 heel raises")
    assert not CLINICAL_NUMBER.search("from 0 to 10/10 hmm")  # the scale is fine
    assert not CLINICAL_NUMBER.search("from 0 to 10")


def strings_in(value, path="record"):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{path}[{index}]")


@pytest.fixture
def lived_in(tmp_path):
    """A runner after onboarding, two weeks of check-ins (good, bad and worse), a retest, a
    false alarm in the safety net and a challenge."""
    clock = Clock(datetime(2027, 3, 1, 8, tzinfo=UTC))
    clinic = load_clinic().model_copy(update={"admin_ids": [7]})
    engine = Engine(open_store(tmp_path / "data"), clinic, default_protocol(), clock)
    admin = Phone(engine, 7)
    admin.command("newchallenge", "name: Spring\nstart: 2027-03-01\nweeks: 8\nplaces: 5")
    code = engine.store.challenges()[0]["code"]
    phone = Phone(engine, 77)
    phone.command("start", code)
    phone.tap("I understand and agree")
    phone.tap("Join")
    phone.follow(TYPICAL_RUNNER + REMINDER_SETUP)
    phone.say("is a pop normal?")
    phone.tap("None of these")
    pains = ["2", "4", "7", "1", "3", "2", "1"] * 2 + ["1"]
    for day, pain in enumerate(pains):
        check_in(phone, pain, "Yes, settled" if pain != "7" else "No, still sore",
                 "Worse than usual" if day == 9 else "Same as usual", done="Partly", walk="0", walk_run="Yes")
        if engine.store.load(77)["state"] == "retest_reps":
            phone.follow([("say", "22"), ("say", "24"), ("tap", "1"), ("tap", "None"), ("tap", "2")])
        clock.advance(timedelta(days=1))
    return engine


def test_no_english_sentence_is_stored_about_a_runner(lived_in):
    record = lived_in.store.load(77)
    assert record["state"] == "idle" and record["retests"] and len(record["assessments"]) >= 1
    stored = {
        "record": record,
        "checkins": lived_in.store.checkins(77),
        "challenges": lived_in.store.challenges(),
    }
    sentences = [(path, text) for path, text in strings_in(stored) if " " in text.strip()]
    assert sentences == [], "records keep ids, numbers and dates; the words belong in templates/"


def test_a_changed_wording_reaches_a_runner_assessed_before_the_change(lived_in, monkeypatch):
    from conversations import messages

    phone = Phone(lived_in, 77)
    phone.command("plan")
    before = phone.text
    real = messages.reason_text
    monkeypatch.setattr(messages, "reason_text", lambda *args: "NEW WORDING " + real(*args))
    messages._environment.cache_clear()
    try:
        phone.command("plan")
        assert "NEW WORDING" in phone.text and "NEW WORDING" not in before
    finally:
        messages._environment.cache_clear()


def test_events_never_reach_storage_through_anything_but_the_engine():
    engine = Engine(
        open_store(None), load_clinic(), default_protocol(), lambda: datetime(2027, 3, 1, tzinfo=UTC)
    )
    outcome = engine.handle(5, Event("command", "start"))
    assert outcome.replies and not outcome.messages and engine.store.load(5) is None
