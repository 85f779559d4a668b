"""The /progress chart: a real PNG, drawn from the runner's own check-ins, phases and retests."""

from __future__ import annotations

import random
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from io import BytesIO

import numpy as np
import pytest
from matplotlib.image import imread

from conversations.charts import progress_chart
from conversations.messages import template_module
from conversations.protocol import default_protocol

TODAY = date(2026, 3, 31)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDTH, HEIGHT = 900, 600  # 9 x 6 inches at 100 dpi


def runner(days: int = 60, seed: int = 1, today: date = TODAY) -> tuple[list[dict], list[dict], list[dict]]:
    """`days` of stored check-ins, phase changes and retests, as the bot keeps them.

    Some days are missed, some have no pain score (nothing to report from the day before), the
    runner moves up a phase, steps back after bad mornings, and retests every two weeks.
    """
    rnd = random.Random(seed)
    start = today - timedelta(days=days - 1)
    phase = 1
    checkins: list[dict] = []
    phases = [{"date": start.isoformat(), "phase": phase}]
    retests: list[dict] = []
    for i in range(days):
        day = start + timedelta(days=i)
        if rnd.random() < 0.15:
            continue  # no check-in that day
        decision = rnd.choice(["progress", "hold", "hold", "reduce"])
        if i in (days // 3, 2 * days // 3):
            phase = min(phase + 1, 4)
            phases.append({"date": day.isoformat(), "phase": phase})
        elif i == days // 2:
            decision, phase = "drop_phase", max(phase - 1, 1)
            phases.append({"date": day.isoformat(), "phase": phase})
        checkins.append(
            {
                "date": day.isoformat(),
                "pain": None
                if rnd.random() < 0.1
                else min(10, max(0, round(rnd.gauss(4 - 3 * i / days, 1.5)))),
                "settled": rnd.choice([True, False, None]),
                "morning": rnd.choice(["better", "same", "same", "worse"]),
                "plan_done": rnd.choice(["yes", "partly", "no"]),
                "km": round(rnd.uniform(0, 8), 1),
                "decision": decision,
                "phase": phase,
            }
        )
        if i % 14 == 13:
            retests.append(
                {
                    "date": day.isoformat(),
                    "reps": 5 + i // 4 + rnd.randint(0, 3),
                    "reps_other": rnd.choice([None, 25, 26]),
                    "pain": rnd.randint(0, 5),
                    "hop_pain": rnd.choice([None, rnd.randint(0, 6)]),
                }
            )
    return checkins, phases, retests


def decode(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    return imread(BytesIO(png), format="png")


def colours(pixels: np.ndarray) -> int:
    """How many different colours the picture has (each pixel's channels packed into one number:
    counting unique rows of floats is thirty times slower)."""
    channels = np.rint(pixels * 255).astype(np.uint8)
    packed = np.zeros(pixels.shape[:2], dtype=np.uint32)
    for channel in range(channels.shape[-1]):
        packed = (packed << 8) | channels[..., channel]
    return len(np.unique(packed))


@pytest.fixture(scope="module")
def two_months() -> bytes:
    return progress_chart(*runner(60), today=TODAY)


def test_a_runner_with_two_months_of_check_ins_gets_a_real_png(two_months: bytes) -> None:
    pixels = decode(two_months)

    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    assert colours(pixels) > 50  # a drawing, not a blank


def test_the_chart_is_drawn_from_that_runners_data(two_months: bytes) -> None:
    checkins, phases, retests = runner(60, seed=1)
    other_checkins, other_phases, other_retests = runner(60, seed=2)
    mine = two_months  # drawn from runner(60, seed=1)

    assert progress_chart(checkins, phases, retests, today=TODAY) == mine  # same data, same picture
    assert not np.array_equal(
        decode(mine), decode(progress_chart(other_checkins, other_phases, other_retests, today=TODAY))
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda c, p, r: ([{**row, "pain": 10 - (row["pain"] or 0)} for row in c], p, r), id="pain"
        ),
        pytest.param(lambda c, p, r: ([{**row, "morning": "worse"} for row in c], p, r), id="mornings"),
        pytest.param(lambda c, p, r: (c, p[:1], r), id="phases"),
        pytest.param(
            lambda c, p, r: (c, p, [{**row, "reps": row["reps"] + 3} for row in r]), id="heel raises"
        ),
        pytest.param(lambda c, p, r: (c, p, [{**row, "hop_pain": 9} for row in r]), id="hop pain"),
    ],
)
def test_each_kind_of_data_shows_on_the_chart(change, two_months: bytes) -> None:
    data = runner(60)
    before = decode(two_months)
    after = decode(progress_chart(*change(*data), today=TODAY))

    assert after.shape == before.shape
    assert not np.array_equal(after, before)


def test_with_nothing_to_chart_yet_the_runner_still_gets_a_picture(two_months: bytes) -> None:
    empty = decode(progress_chart([], [], [], today=TODAY))

    assert empty.shape[:2] == (HEIGHT, WIDTH)
    assert (empty[..., :3] < 0.9).any()  # the "check in for a few days" note is drawn
    assert not np.array_equal(empty, decode(two_months))


def test_the_empty_chart_says_what_the_template_says(monkeypatch: pytest.MonkeyPatch) -> None:
    words = template_module("charts/labels.j2")
    standard = progress_chart([], [], [], today=TODAY)

    class Reworded:
        def __getattr__(self, name: str) -> object:
            return "Nothing here yet, keep going!" if name == "empty" else getattr(words, name)

    monkeypatch.setattr("conversations.charts.template_module", lambda name, lang: Reworded())
    assert progress_chart([], [], [], today=TODAY) != standard


ONE_DAY = {
    "pain": 3,
    "settled": True,
    "morning": "same",
    "plan_done": "yes",
    "km": 0.0,
    "decision": "hold",
    "phase": 1,
}


@pytest.mark.parametrize(
    ("checkins", "phases", "retests"),
    [
        pytest.param([{**ONE_DAY, "date": TODAY.isoformat()}], [], [], id="first check-in today"),
        pytest.param(
            [{**ONE_DAY, "date": (TODAY - timedelta(days=d)).isoformat(), "pain": None} for d in (9, 4, 1)],
            [],
            [],
            id="no pain scores at all",
        ),
        pytest.param(
            [
                {**ONE_DAY, "date": (TODAY - timedelta(days=d)).isoformat(), "pain": d % 4 or None}
                for d in (40, 39, 20, 3, 2, 0)
            ],
            [],
            [],
            id="weeks missed",
        ),
        pytest.param(
            [],
            [{"date": "2026-03-01", "phase": 2}],
            [{"date": "2026-03-20", "reps": 0, "reps_other": None, "pain": 6, "hop_pain": None}],
            id="a retest but no check-ins",
        ),
        pytest.param(
            [{**ONE_DAY, "date": "2026-03-30", "decision": "drop_phase"}],
            [{"date": "2026-03-30", "phase": 1}],
            [{"date": "2026-03-30", "reps": 4, "reps_other": 0, "pain": 2, "hop_pain": 3}],
            id="stepped back, good side could not do one",
        ),
        pytest.param(
            [{**ONE_DAY, "date": "2025-03-31"}, {**ONE_DAY, "date": "2026-04-02"}],
            [],
            [],
            id="a year ago, and a date after today",
        ),
        pytest.param(
            [
                {**ONE_DAY, "date": (TODAY - timedelta(days=d)).isoformat(), "phase": 1 + d % 2}
                for d in range(12)
            ],
            [],
            [],
            id="phase history kept only on the check-ins",
        ),
    ],
)
def test_gaps_and_odd_days_draw_without_errors_or_warnings(checkins, phases, retests) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pixels = decode(progress_chart(checkins, phases, retests, today=TODAY))

    assert pixels.shape[:2] == (HEIGHT, WIDTH)


@pytest.mark.parametrize("days", [0, 14, 180])  # nothing yet, two weeks, half a year
def test_drawing_emits_no_warnings(days: int) -> None:
    data = runner(days) if days else ([], [], [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decode(progress_chart(*data, today=TODAY))


def test_two_runners_asking_at_once_each_get_their_own_chart(two_months: bytes) -> None:
    first, second = runner(60), runner(20, seed=4)
    expected = [two_months, progress_chart(*second, today=TODAY)]  # each drawn alone

    with ThreadPoolExecutor(max_workers=4) as pool:
        drawn = list(pool.map(lambda data: progress_chart(*data, today=TODAY), [first, second] * 2))

    assert drawn == expected * 2


def test_drawing_leaves_no_global_figures_behind() -> None:
    # In a fresh interpreter: pyplot keeps every figure it makes until closed, so it must never load.
    script = (
        "import sys, datetime\n"
        "from conversations.charts import progress_chart\n"
        "progress_chart([{'date': '2026-03-30', 'pain': 2, 'morning': 'same', 'decision': 'hold'}], [], [],\n"
        "               today=datetime.date(2026, 3, 31))\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr


def test_phase_names_on_the_chart_match_the_protocol() -> None:
    names = template_module("charts/labels.j2").phase_names

    assert names == {phase.number: phase.name for phase in default_protocol().phases}


VISA = [
    {"date": "2026-02-10", "score": 48},
    {"date": "2026-03-01", "score": 61},
    {"date": "2026-03-29", "score": 74},
]


def test_visa_a_scores_show_on_the_chart(two_months: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_visa = decode(progress_chart(*runner(60), today=TODAY, visa=VISA))

    assert with_visa.shape[:2] == (HEIGHT, WIDTH)
    assert not np.array_equal(with_visa, decode(two_months))
    other_scores = [{**VISA[0], "score": 90}, *VISA[1:]]
    assert not np.array_equal(with_visa, decode(progress_chart(*runner(60), today=TODAY, visa=other_scores)))


@pytest.mark.parametrize(
    "visa", [None, [], [{"date": "2026-03-01", "score": None}]], ids=["none", "empty", "unscored"]
)
def test_without_visa_a_scores_the_chart_is_unchanged(visa, two_months: bytes) -> None:
    assert progress_chart(*runner(60), today=TODAY, visa=visa) == two_months


def test_visa_a_scores_alone_make_a_chart_not_the_empty_picture() -> None:
    alone = decode(progress_chart([], [], [], today=TODAY, visa=VISA[-1:]))

    assert alone.shape[:2] == (HEIGHT, WIDTH)
    assert not np.array_equal(alone, decode(progress_chart([], [], [], today=TODAY)))
