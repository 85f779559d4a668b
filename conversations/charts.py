"""The /progress chart: a runner's check-ins, phase changes and retests as one PNG.

Drawn with matplotlib's object API on the Agg canvas (no pyplot): nothing global is created or
left behind, so charts can be drawn from several threads at once. Every word on the chart comes
from `templates/charts/labels.j2`.

Top panel: pain after the day before's session or run (0-10) with the safe / acceptable / too-much
zones, the morning stiffness compared with usual as coloured markers along the bottom, days that
stepped back a phase, and dashed lines where a phase began. Bottom panel: the retests, heel raises
on the sore and the good side, the sore/good ratio on the latest retest, and the pain during the
raises and when hopping on a second axis. With VISA-A scores, a small third panel shows them on
their own 0-100 scale (the questionnaire is scored out of 100; higher is better).
"""

from __future__ import annotations

import math
import textwrap
from datetime import date, datetime, time, timedelta
from io import BytesIO

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, num2date
from matplotlib.figure import Figure
from matplotlib.lines import TICKDOWN, Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from conversations.messages import DEFAULT_LANGUAGE, template_module
from conversations.thresholds import THRESHOLDS as T

SIZE_INCHES = (9, 6)
DPI = 100
EMPTY_DAYS = 14  # with no data at all, the last two weeks
MIN_DAYS = 7  # never squeeze the axis below a week, so one check-in still reads as a day

MORNING_Y = -1.2  # the row of morning markers, under the pain scale
PHASE_LABEL_ROWS = 4  # phase names close together stack downwards, at most this deep

INK = "#263238"
MUTED = "#607d8b"
PAIN = "#1565c0"
SAFE = "#66bb6a"
ACCEPTABLE = "#ffca28"
TOO_MUCH = "#e53935"
MORNING = {"better": ("^", "#2e7d32"), "same": ("o", "#90a4ae"), "worse": ("v", "#c62828")}
PHASE_LINE = "#455a64"
SORE_SIDE = "#1565c0"
GOOD_SIDE = "#78909c"
RAISE_PAIN = "#ef6c00"
HOP_PAIN = "#8e24aa"
VISA = "#00897b"

FONT = 10
SMALL = 9
NOTE_WIDTH = 64  # characters per line of a note inside a panel

# The layout, in pixels: the room tight_layout left for the title, the dates and between panels.
TOP, BOTTOM, BETWEEN = 38, 32, 16
PAD = 8  # from the figure's edges
DAY_MARK_LENGTH, DAY_MARK_WIDTH = 2, 0.6  # points: the marks between the dated ticks, as minor ticks
LEGEND_X = 1.1  # a legend's left edge, in widths of its panel from the panel's left edge


def progress_chart(
    checkins: list[dict],
    phases: list[dict],
    retests: list[dict],
    *,
    today: date,
    visa: list[dict] | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> bytes:
    """PNG bytes.

    `checkins` are the stored daily rows (date, pain, morning, decision, phase, ...), `phases` the
    phase history ({date, phase}: the day each phase began), `retests` the stored retests (date,
    reps, reps_other, pain, hop_pain), `visa` the VISA-A scores ({date, score}), if any. Days may be
    missing and pain may be None: those are gaps.
    """
    labels = template_module("charts/labels.j2", lang)
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    visa = [row for row in visa or [] if row.get("score") is not None]
    if not checkins and not retests and not visa:
        _draw_empty(figure, labels)
    else:
        _draw_progress(figure, labels, checkins, phases, retests, visa, today)
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


# --- the panels -----------------------------------------------------------------------------------


def _draw_progress(
    figure: Figure,
    labels: object,
    checkins: list[dict],
    phases: list[dict],
    retests: list[dict],
    visa: list[dict],
    today: date,
) -> None:
    phases = phases or _phases_from_checkins(checkins)
    start = _first_day([*checkins, *phases, *retests, *visa], today)
    days = [start + timedelta(days=i) for i in range((today - start).days + 1)]
    figure.suptitle(labels.title, fontsize=15, fontweight="bold", color=INK, x=0.01, ha="left")
    if visa:
        top, middle, bottom = figure.subplots(3, 1, height_ratios=[3, 2, 1.3])
        panels = [top, middle, bottom]
        _retest_panel(middle, labels, retests, start, today)
        _visa_panel(bottom, labels, visa, start, today)
    else:
        top, bottom = figure.subplots(2, 1, height_ratios=[3, 2])
        panels = [top, bottom]
        _retest_panel(bottom, labels, retests, start, today)
    _pain_panel(top, labels, checkins, days)
    for axes in panels:
        _phase_lines(axes, labels, phases, start, today, annotate=axes is top)
    # The panels share the days but not their tickers: the day marks (drawing each one costs)
    # then go on the bottom panel only, and the others carry the dated ticks without labels.
    for axes in panels:
        axes.set_xlim(_noon(start) - timedelta(days=1), _noon(today))  # half a day either side
        _date_axis(axes, labels, len(days), labelled=axes is bottom)
    _legend(top, _pain_legend(labels, checkins, with_phases=bool(phases)))
    _fit(figure, panels)


def _fit(figure: Figure, panels: list[Axes]) -> None:
    """Place the panels: fixed room above, below and between them, and as wide as the y-axis words
    on the left and the legends on the right leave room for.

    Only the widths change from chart to chart (with the language's words), so only they are
    measured; matplotlib's tight layout measured every tick of every panel, 40% of the chart's time.
    """
    renderer = figure.canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    left = PAD + max(axes.bbox.x0 - axes.yaxis.get_tightbbox(renderer).x0 for axes in panels)
    legends = [axes.get_legend() for axes in panels if axes.get_legend()]
    widest_legend = max(legend.get_window_extent(renderer).width for legend in legends)
    # A legend starts LEGEND_X panel widths from its panel's left edge (see _legend).
    panel_width = (width - left - widest_legend - PAD) / LEGEND_X
    mean_panel_height = (height - TOP - BOTTOM - BETWEEN * (len(panels) - 1)) / len(panels)
    figure.subplots_adjust(
        left=left / width,
        right=(left + panel_width) / width,
        top=1 - TOP / height,
        bottom=BOTTOM / height,
        hspace=BETWEEN / mean_panel_height,  # matplotlib counts the gap in mean panel heights
    )


def _pain_panel(axes: Axes, labels: object, checkins: list[dict], days: list[date]) -> None:
    start, end = days[0], days[-1]
    by_day = {_day(row["date"]): row for row in checkins}
    by_day = {day: row for day, row in by_day.items() if start <= day <= end}

    axes.axhspan(0, T.safe_pain, color=SAFE, alpha=0.18, linewidth=0)
    axes.axhspan(T.safe_pain, T.acceptable_pain, color=ACCEPTABLE, alpha=0.2, linewidth=0)
    axes.axhline(T.acceptable_pain, color=TOO_MUCH, linestyle="--", linewidth=1.2)
    axes.axhline(-0.5, color="#cfd8dc", linewidth=0.8)

    for day, row in by_day.items():
        if row.get("decision") == "drop_phase":
            axes.axvspan(_noon(day) - timedelta(days=1), _noon(day), color=TOO_MUCH, alpha=0.22, linewidth=0)

    # One value per calendar day, NaN where there is none: matplotlib breaks the line at each gap.
    pain = np.full(len(days), np.nan)
    for day, row in by_day.items():
        if row.get("pain") is not None:
            pain[(day - start).days] = row["pain"]
    dense = len(days) > 60
    axes.plot(
        days,
        pain,
        color=PAIN,
        linewidth=1.6 if dense else 2,
        marker="o",
        markersize=3 if dense else 5,
        zorder=3,
    )

    for mood, (marker, colour) in MORNING.items():
        mood_days = [day for day, row in by_day.items() if row.get("morning") == mood]
        if mood_days:
            axes.scatter(
                mood_days,
                [MORNING_Y] * len(mood_days),
                marker=marker,
                color=colour,
                s=18 if dense else 40,
                zorder=3,
                linewidths=0,
            )

    axes.set_ylim(-2.1, 11.3)  # room under 0 for the mornings, above 10 for the phase names
    axes.set_yticks([MORNING_Y, 0, 2, 4, 6, 8, 10], [labels.morning_row, "0", "2", "4", "6", "8", "10"])
    axes.set_ylabel(labels.pain_axis, fontsize=FONT, color=INK)
    axes.grid(axis="y", color="#eceff1", linewidth=0.8)
    _style(axes)
    if not by_day:
        _note(axes, labels.no_checkins)


def _retest_panel(axes: Axes, labels: object, retests: list[dict], start: date, end: date) -> None:
    rows = sorted(
        (row for row in retests if start <= _day(row["date"]) <= end), key=lambda r: _day(r["date"])
    )
    _style(axes)
    axes.set_ylabel(labels.retest_axis, fontsize=FONT, color=INK)
    if not rows:
        axes.set_yticks([])
        _note(axes, labels.no_retests)
        return

    when = [_day(row["date"]) for row in rows]
    reps = [row["reps"] for row in rows]
    handles = [
        axes.plot(
            when, reps, color=SORE_SIDE, linewidth=2, marker="o", markersize=7, zorder=4, label=labels.reps
        )[0]
    ]
    other = known(when, rows, "reps_other")
    handles += series(axes, other, color=GOOD_SIDE, linewidth=1.5, linestyle="--", marker="s", markersize=6,
                      zorder=3, label=labels.reps_other)
    top_reps = max(reps + [count for _, count in other])
    ceiling = max(top_reps * 1.35, 5)
    axes.set_ylim(-0.04 * ceiling, ceiling)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axes.grid(axis="y", color="#eceff1", linewidth=0.8)

    latest = rows[-1]
    if latest.get("reps_other"):
        percent = round(100 * latest["reps"] / latest["reps_other"])
        right_half = (when[-1] - start) > (end - start) / 2
        axes.annotate(
            labels.ratio.format(percent=percent),
            xy=(when[-1], latest["reps"]),
            xytext=(-10 if right_half else 10, 16),
            textcoords="offset points",
            ha="right" if right_half else "left",
            fontsize=SMALL,
            color=SORE_SIDE,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": SORE_SIDE, "alpha": 0.9},
            arrowprops={"arrowstyle": "-", "color": SORE_SIDE, "linewidth": 0.8},
            zorder=6,
        )

    pains = axes.twinx()
    handles += series(pains, known(when, rows, "pain"), color=RAISE_PAIN, linewidth=1, linestyle=":",
                      marker="D", markersize=5, label=labels.raise_pain)
    handles += series(pains, known(when, rows, "hop_pain"), color=HOP_PAIN, linewidth=1, linestyle=":",
                      marker="P", markersize=7, label=labels.hop_pain)
    pains.set_ylim(-0.4, 10.6)
    pains.set_yticks([0, 2, 4, 6, 8, 10])
    pains.set_ylabel(labels.retest_pain_axis, fontsize=FONT, color=INK)
    _style(pains)
    pains.spines["right"].set_visible(True)
    pains.spines["right"].set_color("#b0bec5")
    axes.set_zorder(pains.get_zorder() + 1)  # the heel raises in front of the pain markers
    axes.patch.set_visible(False)
    _legend(axes, handles)


def _visa_panel(axes: Axes, labels: object, visa: list[dict], start: date, end: date) -> None:
    """The VISA-A scores on their own 0-100 scale: a different questionnaire, not a pain score."""
    rows = sorted((row for row in visa if start <= _day(row["date"]) <= end), key=lambda r: _day(r["date"]))
    _style(axes)
    axes.set_ylabel(labels.visa_axis, fontsize=FONT, color=INK)
    axes.set_ylim(-5, 118)  # room above 100 for the scores written over their points
    axes.set_yticks([0, 50, 100])
    axes.grid(axis="y", color="#eceff1", linewidth=0.8)
    if not rows:
        _note(axes, labels.no_visa)
        return
    when = [_day(row["date"]) for row in rows]
    scores = [row["score"] for row in rows]
    handles = axes.plot(when, scores, color=VISA, linewidth=2, marker="o", markersize=6, zorder=4,
                        label=labels.visa)
    for day, score in zip(when, scores, strict=True):
        axes.annotate(labels.visa_score.format(score=score), xy=(day, score), xytext=(0, 6),
                      textcoords="offset points", ha="center", va="bottom", fontsize=SMALL - 1, color=VISA,
                      zorder=5)
    _legend(axes, handles)


def _phase_lines(
    axes: Axes, labels: object, phases: list[dict], start: date, end: date, *, annotate: bool
) -> None:
    span = max((end - start).days, 1)
    previous = None
    rows: list[float] = []  # per label row, where (in days from start) the last label there ends
    for entry in sorted(phases, key=lambda e: _day(e["date"])):
        day, phase = _day(entry["date"]), entry["phase"]
        stepped_back = previous is not None and phase < previous
        changed = previous is None or phase != previous
        previous = phase
        if not changed or not start <= day <= end:
            continue
        colour = TOO_MUCH if stepped_back else PHASE_LINE
        axes.axvline(day, color=colour, linestyle="--", linewidth=1.2, zorder=2)
        if not annotate:
            continue
        template = labels.phase_back if stepped_back else labels.phase_label
        text = template.format(number=phase, name=labels.phase_names.get(phase, phase))
        # Labels sit right of their line (left of it near today), a row lower when they would touch.
        offset = (day - start).days
        width = span * (0.0155 * len(text) + 0.03)  # about how many days the label covers, in bold 9 pt
        leftwards = offset + width > span
        left, right = (offset - width, offset) if leftwards else (offset, offset + width)
        row = next((i for i, ends in enumerate(rows) if ends < left), len(rows))
        if row == len(rows) and row < PHASE_LABEL_ROWS:
            rows.append(right)
        elif row == len(rows):  # crowded: overlap the row that frees up first
            row = min(range(len(rows)), key=rows.__getitem__)
        rows[row] = right
        axes.annotate(
            text,
            xy=(day, 1 - 0.075 * row),
            xycoords=("data", "axes fraction"),
            xytext=(-4 if leftwards else 4, -4),
            textcoords="offset points",
            ha="right" if leftwards else "left",
            va="top",
            fontsize=SMALL,
            color=colour,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            zorder=5,
        )


# --- pieces ---------------------------------------------------------------------------------------


def _draw_empty(figure: Figure, labels: object) -> None:
    figure.text(
        0.5, 0.62, labels.empty_title, ha="center", va="center", fontsize=18, fontweight="bold", color=INK
    )
    figure.text(0.5, 0.45, labels.empty, ha="center", va="center", fontsize=14, color=MUTED, linespacing=1.6)


def _pain_legend(labels: object, checkins: list[dict], *, with_phases: bool) -> list:
    handles = [
        Line2D([], [], color=PAIN, linewidth=2, marker="o", markersize=5, label=labels.pain),
        Patch(facecolor=SAFE, alpha=0.35, label=labels.safe),
        Patch(facecolor=ACCEPTABLE, alpha=0.4, label=labels.acceptable),
        Line2D([], [], color=TOO_MUCH, linestyle="--", linewidth=1.2, label=labels.too_much),
    ]
    handles += [
        Line2D(
            [], [], linestyle="none", marker=marker, color=colour, markersize=7, label=labels.morning[mood]
        )
        for mood, (marker, colour) in MORNING.items()
    ]
    if any(row.get("decision") == "drop_phase" for row in checkins):
        handles.append(Patch(facecolor=TOO_MUCH, alpha=0.35, label=labels.dropped))
    if with_phases:
        handles.append(
            Line2D([], [], color=PHASE_LINE, linestyle="--", linewidth=1.2, label=labels.phase_change)
        )
    return handles


def _legend(axes: Axes, handles: list) -> None:
    axes.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(LEGEND_X, 1.0),
        fontsize=SMALL,
        frameon=False,
        borderaxespad=0,
        handlelength=1.8,
    )


def _date_axis(axes: Axes, labels: object, n_days: int, *, labelled: bool) -> None:
    def label(value: float, _position: int) -> str:
        day = num2date(value)
        return labels.date_format.format(day=day.day, month=labels.months[day.month - 1])

    locator = AutoDateLocator(minticks=4, maxticks=8)
    locator.intervald["DAILY"] = [1, 2, 7, 14]  # whole days and weeks, never 3 or 4
    axes.xaxis.set_major_locator(locator)
    if not labelled:
        axes.tick_params(axis="x", labelbottom=False)
        return
    axes.xaxis.set_major_formatter(FuncFormatter(label))
    if n_days <= 62:
        _day_marks(axes, dated=set(locator()))
    axes.tick_params(axis="x", labelsize=FONT)


def _day_marks(axes: Axes, dated: set[float]) -> None:
    """A short mark under each day between the dated ticks, drawn as minor ticks would be but as
    one line of markers: sixty minor ticks are sixty tick objects, a third of the chart's time."""
    low, high = axes.get_xlim()
    days = [day for day in range(math.ceil(low), math.floor(high) + 1) if day not in dated]
    if not days:  # every day has its date
        return
    axes.plot(
        days,
        [0] * len(days),
        transform=axes.get_xaxis_transform(),  # x in days, y on the bottom edge
        linestyle="none",
        marker=TICKDOWN,
        markersize=DAY_MARK_LENGTH,
        markeredgewidth=DAY_MARK_WIDTH,
        color=INK,
        clip_on=False,
    )


def _style(axes: Axes) -> None:
    axes.tick_params(labelsize=FONT, colors=INK)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color("#b0bec5")


def _note(axes: Axes, text: str) -> None:
    text = "\n".join(textwrap.fill(line, NOTE_WIDTH) for line in text.splitlines())
    axes.text(
        0.5,
        0.5,
        text,
        transform=axes.transAxes,
        ha="center",
        va="center",
        fontsize=FONT + 1,
        color=MUTED,
        linespacing=1.4,
        zorder=6,
        bbox={"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "#cfd8dc"},
    )


def _phases_from_checkins(checkins: list[dict]) -> list[dict]:
    """Older records keep no phase history: read the changes off the check-ins instead."""
    phases: list[dict] = []
    for row in checkins:
        if row.get("phase") is not None and (not phases or phases[-1]["phase"] != row["phase"]):
            phases.append({"date": row["date"], "phase": row["phase"]})
    return phases


def _first_day(rows: list[dict], today: date) -> date:
    days = [day for day in (_day(row["date"]) for row in rows) if day <= today]
    if not days:
        return today - timedelta(days=EMPTY_DAYS - 1)
    return min(min(days), today - timedelta(days=MIN_DAYS - 1))


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12))


def _day(value: str | date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


def known(when: list, rows: list[dict], key: str) -> list[tuple]:
    """(day, value) for the retests that have a value for `key` (a test not done is a gap)."""
    return [(day, row[key]) for day, row in zip(when, rows, strict=True) if row.get(key) is not None]


def series(axes: Axes, points: list[tuple], **style) -> list[Line2D]:
    """One line of points on the axes, or nothing when there are none."""
    return axes.plot(*zip(*points, strict=True), **style) if points else []
