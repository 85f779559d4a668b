"""The clinician summary: one A4 page, read back as a clinician's PDF reader would show it."""

from __future__ import annotations

import random
from datetime import date, timedelta
from io import BytesIO

import pytest
from pypdf import PdfReader

from conversations.answers import parse_answers
from conversations.clinic import Clinic
from conversations.intake import answers_from
from conversations.messages import option_labels, template_module
from conversations.protocol import default_protocol
from conversations.summary_pdf import summary_pdf
from conversations.triage import assess

TODAY = date(2027, 4, 12)
CLINIC = Clinic(
    name="Riverside Sports Physiotherapy",
    phone="+44 20 7946 0000",
    booking_url="https://riverside.example/book",
    address="1 River Lane, London",
    emergency_number="999",
    timezone="Europe/London",
)
A4_POINTS = (595, 842)  # 210 x 297 mm

INTAKE = {
    "red_flags": [],
    "age": 38,
    "side": "left",
    "onset": "gradual",
    "heel_raises_reps": 14,
    "heel_raises_other_side": 25,
    "heel_raises_pain": 3,
    "location": "insertional",
    "weeks_of_symptoms": 10,
    "morning_stiffness_minutes": 20,
    "warmup_pattern": "eases_then_returns",
    "pain_now": 2,
    "pain_during_last_run": 4,
    "settled_next_morning": True,
    "mornings_trend": "same",
    "hop_pain": 3,
    "weekly_km": 40.0,
    "weekly_km_before": 28.0,
    "recent_changes": ["hills", "lower_drop_shoes"],
    "structured_loading_weeks": 0,
    "trend": "same",
    "other_flags": [],
}


# A 16-year-old with severe pain, inflammatory signs and twelve weeks of loading behind them.
REFERRED = assess(parse_answers(answers_from({
    **INTAKE, "age": 16, "morning_stiffness_minutes": 90, "pain_now": 9, "structured_loading_weeks": 12,
    "other_flags": ["tingling_or_numbness", "inflammatory_signs"], "location": "unsure",
}))).model_dump()

# Since New Year: thirty phase changes, up and down every three days, and a VISA-A score a week.
NEW_YEAR = date(2027, 1, 1)
MANY_PHASES = [
    {"date": (NEW_YEAR + timedelta(days=3 * n)).isoformat(), "phase": n % 3 + 1} for n in range(30)
]
WEEKLY_VISA = [{"date": (NEW_YEAR + timedelta(weeks=w)).isoformat(), "score": 40 + w} for w in range(14)]


def checkins_for(days: int, *, seed: int = 7) -> list[dict]:
    """`days` of stored check-ins up to yesterday, a few missed, as conversations.daily keeps them."""
    rnd = random.Random(seed)
    rows = []
    for back in range(days, 0, -1):
        day = TODAY - timedelta(days=back)
        if rnd.random() < 0.1:
            continue
        pain = rnd.choice([None, 1, 2, 2, 3, 4, 6])
        rows.append({
            "date": day.isoformat(),
            "pain": pain,
            "settled": None if pain is None else rnd.random() > 0.2,
            "morning": rnd.choice(["better", "same", "same", "worse"]),
            "plan_done": rnd.choice(["yes", "yes", "partly", "no"]),
            "km": rnd.choice([0.0, 0.0, 3.5, 5.0, 8.0]),
            "decision": rnd.choice(["hold", "hold", "progress", "reduce"]),
            "phase": 2,
        })
    return rows


def weeks_in_phase_two(**changes: object) -> tuple[dict, list[dict]]:
    """A runner six weeks in: assessed into phase 2, retested twice, two VISA-A scores."""
    assessment = assess(parse_answers(answers_from(INTAKE))).model_dump()
    checkins = checkins_for(40)
    checkins[-1] = {**checkins[-1], "date": (TODAY - timedelta(days=1)).isoformat(), "pain": 6,
                    "settled": False, "decision": "reduce"}
    record = {
        "runner_id": 4242,
        "first_name": "Zoë 🏃‍♀️",
        "answers": dict(INTAKE),
        "assessment": assessment,
        "phase": 2,
        "phases": [{"date": "2027-03-01", "phase": 2}],
        "assessments": [{"date": "2027-03-01", "triage": "self_care", "phase": 2}],
        "retests": [
            {"date": "2027-03-15", "reps": 16, "reps_other": 25, "pain": 3, "stiffness": 20, "hop_pain": 3},
            {"date": "2027-03-29", "reps": 18, "reps_other": 25, "pain": 2, "stiffness": 5, "hop_pain": None},
        ],
        "visa": [{"date": "2027-03-01", "score": 58}, {"date": "2027-03-29", "score": 66}],
        "load_week": 3,
        **changes,
    }
    return record, checkins


def urgent_runner() -> tuple[dict, list[dict]]:
    """Stopped at the safety screen (a pop at the back of the ankle): no phase, half the answers."""
    answers = {"red_flags": ["pop_or_kick"], "age": 51, "side": "right", "onset": "sudden"}
    assessment = {
        "triage": "urgent",
        "referral": "today",
        "phase": None,
        "running": "stop",
        "modifications": [],
        "reasons": [
            {"rule": "R1", "whys": ["pop_or_kick"], "facts": {"reps": None, "reps_other_side": None}},
        ],
    }
    record = {
        "runner_id": 77,
        "answers": answers,
        "assessment": assessment,
        "phase": None,
        "assessments": [{"date": TODAY.isoformat(), "triage": "urgent", "phase": None}],
    }
    return record, []


def read(pdf: bytes) -> tuple[PdfReader, str]:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(pdf), strict=True)
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def one_a4_page(reader: PdfReader) -> None:
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == A4_POINTS


def flat(text: str) -> str:
    """The page's words with its line breaks undone, as a reader takes in a wrapped paragraph."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def typical() -> tuple[dict, list[dict], str, bytes]:
    record, checkins = weeks_in_phase_two()
    pdf = summary_pdf(record, checkins, CLINIC, default_protocol(), today=TODAY)
    reader, text = read(pdf)
    one_a4_page(reader)
    return record, checkins, text, pdf


def test_a_typical_runner_gets_one_page_with_every_reason_and_its_rule(typical) -> None:
    record, _, text, _ = typical
    rules = [reason["rule"] for reason in record["assessment"]["reasons"]]

    assert rules  # the assessment gave reasons: each is on the page with its rule id
    for rule in rules:
        assert rule in text.split()
    assert "Strength" in text  # the phase, by the protocol's name
    assert CLINIC.name in flat(text)
    assert "12 Apr 2027" in text  # when it was made


def row_date(day: date) -> str:
    """A check-in's date as the table shows it, e.g. "Sun 11 Apr"."""
    words = template_module("summary/labels.j2")
    return words.row_date_format.format(
        weekday=words.weekdays[day.weekday()], day=day.day, month=words.months[day.month - 1]
    )


def table_rows(text: str) -> list[list[str]]:
    """The check-in table's rows, as (weekday, day, month, pain, settled...) words."""
    weekdays = template_module("summary/labels.j2").weekdays
    return [line.split() for line in text.splitlines() if line.split()[:1] and line.split()[0] in weekdays]


def test_the_latest_check_in_heads_the_table_with_its_pain(typical) -> None:
    _, checkins, text, _ = typical
    latest, before = date.fromisoformat(checkins[-1]["date"]), date.fromisoformat(checkins[-2]["date"])

    rows = table_rows(text)
    assert " ".join(rows[0][:3]) == row_date(latest)
    assert rows[0][3:5] == ["6", "no"]  # pain 6/10, not settled by the morning
    assert " ".join(rows[1][:3]) == row_date(before)


def test_the_page_shows_the_runner_the_tests_and_the_scores(typical) -> None:
    _, _, text, _ = typical
    page = flat(text)

    assert "Zoë 🏃" in page  # an accented name prints, and an emoji beside it is kept, not a crash
    assert "38 years old" in page and "left Achilles" in page and "10 weeks" in page
    assert "18 single-leg heel raises on the sore side, 25 on the other (72% of the other side)" in page
    assert "58 on 1 Mar 2027, 66 on 29 Mar 2027 (+8 since the first)" in page  # VISA-A
    assert "Location Where it meets the heel bone" in page  # the answer as the runner picked it
    assert "More hills; Flatter (lower-drop) shoes" in page
    assert "Phase 2, Strength, from 1 Mar 2027" in page
    assert "not a diagnosis" in page


def test_the_same_record_gives_the_same_pdf(typical) -> None:
    record, checkins, _, pdf = typical

    assert summary_pdf(record, checkins, CLINIC, default_protocol(), today=TODAY) == pdf


def test_an_urgent_runner_with_no_phase_and_no_check_ins_still_gets_a_valid_page() -> None:
    record, checkins = urgent_runner()

    reader, text = read(summary_pdf(record, checkins, CLINIC, default_protocol(), today=TODAY))

    one_a4_page(reader)
    page = flat(text)
    assert "R1" in text.split()
    assert "A runner, 51 years old, right Achilles" in page
    assert "No exercise phase" in page
    assert "No check-ins in these 28 days" in page
    assert "No heel-raise test recorded" in page
    assert "Not asked Heel raises, sore side; Heel raises, other side" in page  # after the safety screen
    assert "VISA-A" not in page
    assert CLINIC.name in page


def test_sixty_days_of_check_ins_still_fit_on_one_page() -> None:
    record, _ = weeks_in_phase_two()
    checkins = checkins_for(60, seed=3)
    four_weeks_ago = TODAY - timedelta(days=28)
    last_four_weeks = [row for row in checkins if date.fromisoformat(row["date"]) > four_weeks_ago]

    reader, text = read(summary_pdf(record, checkins, CLINIC, default_protocol(), today=TODAY))

    one_a4_page(reader)
    rows = table_rows(text)
    assert " ".join(rows[0][:3]) == row_date(date.fromisoformat(checkins[-1]["date"]))
    assert 7 <= len(rows) <= len(last_four_weeks)  # at least a week, nothing older than four weeks
    assert row_date(TODAY - timedelta(days=40)) not in text
    assert CLINIC.name in flat(text)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"answers": {}, "assessment": None, "assessments": []}, id="nothing answered yet"),
        pytest.param({"retests": [], "visa": []}, id="no retest, no VISA-A: the intake test instead"),
        pytest.param({"phases": [], "phase": None}, id="no phase history"),
        pytest.param(
            {"first_name": "Ægir-Þór Łukasz Ñúñez 😀 " * 8, "visa": [{"date": "2027-04-01", "score": 70}]},
            id="a very long name that must wrap",
        ),
        pytest.param(
            {"phases": MANY_PHASES, "phase": 3},
            id="many phase changes",
        ),
        pytest.param({"assessment": REFERRED, "phase": None}, id="referred, with eight reasons"),
    ],
)
def test_missing_or_odd_parts_still_give_one_page(changes: dict) -> None:
    record, checkins = weeks_in_phase_two(**changes)

    reader, text = read(summary_pdf(record, checkins, CLINIC, default_protocol(), today=TODAY))

    one_a4_page(reader)
    assert CLINIC.name in flat(text)


def test_without_a_retest_the_page_shows_the_heel_raise_test_from_intake() -> None:
    record, checkins = weeks_in_phase_two(retests=[])

    _, text = read(summary_pdf(record, checkins, CLINIC, default_protocol(), today=TODAY))

    assert (
        "At intake on 1 Mar 2027 (no retest yet): 14 single-leg heel raises on the sore side, "
        "25 on the other (56% of the other side); pain 3/10 during the raises" in flat(text)
    )


def test_when_everything_is_long_at_once_the_type_shrinks_and_a_week_of_check_ins_still_shows() -> None:
    record, _ = weeks_in_phase_two(
        assessment=REFERRED,
        phase=None,
        first_name="Ægir-Þór Łukasz Ñúñez-Øyvindsdóttir " * 6,
        phases=MANY_PHASES,
        answers={**INTAKE, "recent_changes": list(option_labels("recent_changes")),
                 "other_flags": list(option_labels("other_flags"))},
        visa=WEEKLY_VISA,
    )

    reader, text = read(summary_pdf(record, checkins_for(60), CLINIC, default_protocol(), today=TODAY))

    one_a4_page(reader)
    assert all(reason["rule"] in text.split() for reason in REFERRED["reasons"])
    assert len(table_rows(text)) >= 7
    assert "not a diagnosis" in flat(text)
