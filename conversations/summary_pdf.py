"""The clinician summary: one A4 page a runner can forward to their clinic, read in a minute.

Who the runner is, the latest assessment with each reason and its rule id, the questionnaire's
answers, the phase history, the latest heel-raise test, VISA-A scores, the progress chart and the
last four weeks of check-ins. Every word comes from `templates/summary/`.

Drawn with fpdf2 in DejaVu Sans, which ships with matplotlib, so accented names print; glyphs it
lacks (emoji) fall back to matplotlib's LastResort font, which draws a placeholder instead of
failing and keeps the character in the PDF's text; it is slow to load, so only a page that needs
it loads it. It is always one page: the check-in table keeps the newest rows that fit, and when
the fixed parts leave no room for a week of rows the whole page is drawn again in smaller type.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path

import matplotlib
from fontTools.subset import Options, Subsetter
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from conversations.charts import progress_chart
from conversations.clinic import Clinic
from conversations.intake import QUESTIONS, Question
from conversations.messages import DEFAULT_LANGUAGE, option_labels, reason_text, render_text, template_module
from conversations.protocol import Protocol
from conversations.thresholds import THRESHOLDS as T
from storage.atomic import atomic_write

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
FALLBACK = "LastResort"

PAGE_WIDTH, PAGE_HEIGHT = 210, 297  # A4, mm
MARGIN = 12
GAP = 5  # between columns and sections
LEFT_COLUMN = 88  # the questionnaire's answers; the chart and the tests take the rest
ANSWER_LABEL = 35  # width of a question's label in the left column
RULE_WIDTH = 10  # the rule id before each reason
CHART_ASPECT = 6 / 9  # conversations.charts draws 9 x 6 inches

TITLE, HEADING, BODY, TABLE = 14, 9, 8, 7.5  # points, before scaling
LINE = 1.3 * 0.3528  # a line's height in mm per point of type
SCALES = (1.0, 0.92, 0.85, 0.78, 0.72)  # tried in turn until a week of check-ins fits
CHECKIN_DAYS = 28
MIN_ROWS = 7
TABLE_COLUMNS = (18, 8, 12, 13.5, 9.5, 8, 21)  # mm: date, pain, settled, morning, plan, km, decision
TABLE_BLOCKS = 2  # rows that do not fit under each other continue in a second block alongside

INK = (38, 50, 56)
MUTED = (96, 125, 139)
ACCENT = (21, 101, 192)
ALERT = (198, 40, 40)
RULE_LINE = (176, 190, 197)
ZEBRA = (241, 244, 246)


def summary_pdf(
    record: dict, checkins: list[dict], clinic: Clinic, protocol: Protocol, *, today: date,
    lang: str = DEFAULT_LANGUAGE,
) -> bytes:
    """The PDF's bytes: one A4 page, whatever the record holds or lacks.

    `record` is the runner's stored record (answers, assessment, phases, assessments, retests,
    visa; any may be missing). The record keeps no name: a caller who knows the runner's first name
    (Telegram's, say) adds it as `first_name`, else the page says "a runner". `checkins` are the
    stored daily rows, in any order. `lang`: the reader's language (the runner's, or the clinic's).
    """
    content = _content(record, checkins, clinic, protocol, today, lang)
    fallback = _fallback_face(_uncovered(content))
    for scale in SCALES:
        pdf = _draw(content, scale, fallback=fallback, last_try=scale == SCALES[-1])
        if pdf is not None:
            return bytes(pdf.output())
    raise AssertionError("the last scale always draws")  # pragma: no cover


# --- what the page says ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Content:
    title: str
    made_on: date
    made: str
    who_heading: str
    who: str
    assessment_heading: str
    headline: str
    reasons: list[tuple[str, str]]
    answers_heading: str
    answers: list[tuple[str, str]]
    chart_heading: str
    chart: bytes | None
    phases_heading: str
    phases: str
    retest_heading: str
    retest: str
    visa_heading: str
    visa: str | None
    checkins_heading: str
    checkins_note: str
    columns: list[str]
    rows: list[list[tuple[str, bool]]]  # cells as (text, alarming), newest first
    no_checkins: str
    rows_left_out: str  # "{count}" is filled in when rows do not fit
    disclaimer: str


def _content(record: dict, checkins: list[dict], clinic: Clinic, protocol: Protocol, today: date,
             lang: str) -> _Content:
    words = template_module("summary/labels.j2", lang)
    answers = record.get("answers") or {}
    assessment = record.get("assessment")
    assessments = record.get("assessments") or []
    retests = sorted(record.get("retests") or [], key=lambda row: _as_date(row["date"]))
    visa = sorted(
        (row for row in record.get("visa") or [] if row.get("score") is not None),
        key=lambda row: _as_date(row["date"]),
    )
    phases = record.get("phases") or []

    if assessment:
        phase_name = _phase_name(protocol, assessment.get("phase"))
        headline = render_text(
            "summary/assessment.j2", lang=lang, assessment=assessment, phase_name=phase_name, words=words
        )
        reasons = [(reason["rule"], reason_text(reason, lang)) for reason in assessment.get("reasons", [])]
    else:
        headline, reasons = render_text("summary/no_assessment.j2", lang=lang), []
    assessment_heading = (
        words.assessment_heading.format(date=_long_date(words, assessments[-1]["date"]))
        if assessments
        else words.assessment_heading_undated
    )

    chart = None  # with nothing to chart, the chart would only say so, in words meant for the runner
    if checkins or retests or visa:
        chart = progress_chart(checkins, phases, retests, today=today, visa=visa, lang=lang)

    return _Content(
        title=words.title,
        made_on=today,
        made=words.made.format(date=_long_date(words, today), clinic=clinic.name),
        who_heading=words.who_heading,
        who=render_text("summary/who.j2", lang=lang, name=_first_name(record), answers=answers),
        assessment_heading=assessment_heading,
        headline=headline,
        reasons=reasons,
        answers_heading=words.answers_heading,
        answers=_answers(words, answers, lang),
        chart_heading=words.chart_heading,
        chart=chart,
        phases_heading=words.phases_heading,
        phases=_phase_history(words, protocol, phases, record.get("phase"), lang),
        retest_heading=words.retest_heading,
        retest=_heel_raise_test(words, retests, answers, assessments, lang),
        visa_heading=words.visa_heading,
        visa=_visa(words, visa, lang),
        checkins_heading=words.checkins_heading.format(days=CHECKIN_DAYS),
        checkins_note=words.checkins_note,
        columns=list(words.columns),
        rows=_checkin_rows(words, checkins, today),
        no_checkins=words.no_checkins.format(days=CHECKIN_DAYS),
        rows_left_out=words.rows_left_out,
        disclaimer=render_text("summary/disclaimer.j2", lang=lang, clinic=clinic),
    )


def _first_name(record: dict) -> str | None:
    name = " ".join(str(record.get("first_name") or "").split())
    return name or None


def _phase_name(protocol: Protocol, number: int | None) -> str | None:
    if number is None:
        return None
    return next((phase.name for phase in protocol.phases if phase.number == number), str(number))


def _answers(words: object, answers: dict, lang: str) -> list[tuple[str, str]]:
    """(short label, answer) for each intake question answered, in the order they are asked; then
    one row naming those never asked (skipped, or after the safety screen stopped it)."""
    rows = [(words.questions.get(q.id, q.id), _answer(words, q, answers[q.id], lang)) for q in QUESTIONS
            if q.id in answers]
    missing = [words.questions.get(q.id, q.id) for q in QUESTIONS if q.id not in answers]
    if missing:
        rows.append((words.not_asked, words.separator.join(missing)))
    return rows


def _answer(words: object, question: Question, value: object, lang: str) -> str:
    labels = option_labels(question.id, lang)
    if question.kind == "multi":
        return words.separator.join(str(labels.get(v, v)) for v in value) if value else words.none_ticked
    if value is None:
        return words.no_value.get(question.id) or labels.get(None) or words.not_answered
    if question.kind == "choice":
        return str(labels.get(value, value))
    if question.kind == "pain":
        return words.pain.format(value=_number(value))
    return words.numbers.get(question.id, "{value}").format(value=_number(value))


def _phase_history(words: object, protocol: Protocol, phases: list[dict], current: int | None,
                   lang: str) -> str:
    entries: list[dict] = []
    previous = None
    for entry in sorted(phases, key=lambda e: _as_date(e["date"])):
        number = entry.get("phase")
        if number is None or number == previous:
            continue
        entries.append({
            "date": _long_date(words, entry["date"]),
            "number": number,
            "name": _phase_name(protocol, number),
            "back": previous is not None and number < previous,
        })
        previous = number
    return render_text("summary/phases.j2", lang=lang, phases=entries, current=current)


def _heel_raise_test(words: object, retests: list[dict], answers: dict, assessments: list[dict],
                     lang: str) -> str:
    """The latest retest, or the intake's test when there is none yet."""
    if retests:
        latest = retests[-1]
        test = {
            "source": "retest",
            "date": _long_date(words, latest["date"]),
            "reps": latest.get("reps"),
            "reps_other": latest.get("reps_other"),
            "pain": latest.get("pain"),
            "stiffness": latest.get("stiffness"),
            "hop_pain": latest.get("hop_pain"),
        }
    elif answers.get("heel_raises_reps") is not None:
        test = {
            "source": "intake",
            "date": _long_date(words, assessments[0]["date"]) if assessments else None,
            "reps": answers["heel_raises_reps"],
            "reps_other": answers.get("heel_raises_other_side"),
            "pain": answers.get("heel_raises_pain"),
            "stiffness": answers.get("morning_stiffness_minutes"),
            "hop_pain": answers.get("hop_pain"),
        }
    else:
        return render_text("summary/retest.j2", lang=lang, source=None)
    reps, other = test["reps"], test["reps_other"]
    test["percent"] = round(100 * reps / other) if reps is not None and other else None
    return render_text("summary/retest.j2", lang=lang, **test)


def _visa(words: object, visa: list[dict], lang: str) -> str | None:
    if not visa:
        return None
    scores = [{"date": _long_date(words, row["date"]), "score": _number(row["score"])} for row in visa]
    change = round(visa[-1]["score"] - visa[0]["score"]) if len(visa) > 1 else None
    return render_text("summary/visa.j2", lang=lang, scores=scores, change=change)


def _checkin_rows(words: object, checkins: list[dict], today: date) -> list[list[tuple[str, bool]]]:
    """The last four weeks of check-ins, newest first, one row of (text, alarming) cells each."""
    first = today - timedelta(days=CHECKIN_DAYS - 1)
    recent = [row for row in checkins if first <= _as_date(row["date"]) <= today]
    rows = []
    for row in sorted(recent, key=lambda r: _as_date(r["date"]), reverse=True):
        day, pain, decision = _as_date(row["date"]), row.get("pain"), row.get("decision")
        rows.append([
            (
                words.row_date_format.format(
                    weekday=words.weekdays[day.weekday()], day=day.day, month=words.months[day.month - 1]
                ),
                False,
            ),
            (words.no_pain if pain is None else _number(pain), pain is not None and pain > T.acceptable_pain),
            (words.settled.get(row.get("settled"), words.no_pain), row.get("settled") is False),
            (words.morning.get(row.get("morning"), words.no_pain), row.get("morning") == "worse"),
            (words.plan_done.get(row.get("plan_done"), words.no_pain), False),
            (words.no_pain if row.get("km") is None else _number(row["km"]), False),
            (words.decisions.get(decision, decision or words.no_pain), decision == "drop_phase"),
        ])
    return rows


def _long_date(words: object, value: str | date) -> str:
    day = _as_date(value)
    return words.date_format.format(day=day.day, month=words.months[day.month - 1], year=day.year)


def _as_date(value: str | date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


def _number(value: float) -> str:
    """12 -> '12', 12.0 -> '12', 7.5 -> '7.5'."""
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- the page -------------------------------------------------------------------------------------


# The scripts a runner's name and the page's words are likely to be in. DejaVu has six thousand
# glyphs; fpdf2 reads a whole font file for every document, so each page embeds this subset, and
# anything outside it goes to the fallback font. Cutting a font takes a second or two, so the cut
# is kept on disk (FONT_CACHE, named for what it was cut from) and made once per machine.
KEPT = [*range(0x20, 0x250), *range(0x370, 0x530), *range(0x1E00, 0x1F00), *range(0x2000, 0x2BFF)]
FONT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "achilles-coach"


@cache
def _faces() -> dict[str, str]:
    """DejaVu Sans, regular and bold, cut down to the kept characters, as font files."""
    return {style: _cut(name, KEPT) for style, name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf"))}


def _cut(name: str, unicodes: list[int]) -> str:
    """The path of matplotlib's font `name` cut down to `unicodes`, from the cache if there."""
    source = FONT_DIR / name
    key = hashlib.sha256(f"{source}:{source.stat().st_mtime_ns}:{unicodes}".encode()).hexdigest()[:16]
    for folder in (FONT_CACHE, Path(tempfile.gettempdir()) / f"achilles-coach-{os.getuid()}"):
        path = folder / f"{source.stem}-{key}.ttf"
        if path.exists():
            return str(path)
        font = TTFont(source)
        subsetter = Subsetter(_subset_options())
        subsetter.populate(unicodes=unicodes)
        subsetter.subset(font)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = BytesIO()
            font.save(saved)
            atomic_write(path, saved.getvalue(), durable=False)  # two processes may race: both whole
            return str(path)
        except OSError:  # a read-only home: the temp folder then
            continue
    raise OSError(f"no folder to keep the cut of {name} in")


def _subset_options() -> Options:
    options = Options(name_IDs=["*"], notdef_outline=True)
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: nothing to keep, nothing to warn about
    return options


@cache
def _dejavu() -> frozenset[int]:
    """The characters both embedded faces can draw."""
    drawable = []
    for path in _faces().values():
        with TTFont(path, lazy=True) as face:
            drawable.append(frozenset(face.getBestCmap()))
    return drawable[0] & drawable[1]


def _uncovered(content: _Content) -> frozenset[int]:
    """The characters on the page that the embedded DejaVu cannot draw."""
    def texts(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, list | tuple):
            for item in value:
                yield from texts(item)

    drawable = _dejavu()
    return frozenset(ord(ch) for text in texts(astuple(content)) for ch in text
                     if not ch.isspace() and ord(ch) not in drawable)


# Emoji, and what joins them: the characters a first name is most likely to bring.
EMOJI = [*range(0x2600, 0x27C0), *range(0xFE00, 0xFE10), 0x200D, *range(0x1F000, 0x1FB00)]


def _fallback_face(missing: frozenset[int]) -> str | None:
    """The font for characters DejaVu lacks: LastResort draws a placeholder for any of them.
    Whole, it maps all of Unicode and takes a second and more to read, so emoji alone get a
    small cut of it, made once."""
    if not missing:
        return None
    if missing <= frozenset(EMOJI):
        return _emoji_face()
    return str(FONT_DIR / "LastResortHE-Regular.ttf")


@cache
def _emoji_face() -> str:
    return _cut("LastResortHE-Regular.ttf", EMOJI)


class _Page(FPDF):
    """An A4 page in DejaVu Sans at one scale of type, drawn top to bottom."""

    def __init__(self, scale: float, *, fallback: str | None = None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.scale = scale
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)  # one page, always: the layout decides what fits
        self.c_margin = 0.6
        for style, path in _faces().items():
            self.add_font(FONT, style, path)
        if fallback:
            self.add_font(FALLBACK, "", fallback)
            self.set_fallback_fonts([FALLBACK], exact_match=False)
        self.add_page()

    def size(self, points: float) -> float:
        return points * self.scale

    def line_height(self, points: float) -> float:
        return self.size(points) * LINE

    def style(self, points: float, *, bold: bool = False, colour: tuple = INK) -> float:
        """Set the type; returns its line height."""
        self.set_font(FONT, "B" if bold else "", self.size(points))
        self.set_text_color(*colour)
        return self.line_height(points)

    def paragraph(self, x: float, y: float, width: float, text: str, points: float = BODY, **style) -> float:
        """Wrapped text from (x, y); returns the y under it."""
        height = self.style(points, **style)
        self.set_xy(x, y)
        self.multi_cell(width, height, text, align=Align.L, new_x=XPos.LEFT, new_y=YPos.NEXT)
        return self.get_y()

    def heading(self, x: float, y: float, width: float, text: str) -> float:
        y = self.paragraph(x, y, width, text, HEADING, bold=True, colour=ACCENT)
        self.set_draw_color(*RULE_LINE)
        self.set_line_width(0.2)
        self.line(x, y + 0.3, x + width, y + 0.3)
        return y + 1.2

    def height_of(self, width: float, text: str, points: float) -> float:
        self.style(points)
        return self.multi_cell(width, self.line_height(points), text, dry_run=True, output="HEIGHT")

    def fitted(self, text: str, width: float) -> str:
        """Text cut with an ellipsis to fit a table cell."""
        room = width - 2 * self.c_margin
        if self.get_string_width(text) <= room:
            return text
        while text and self.get_string_width(text + "…") > room:
            text = text[:-1]
        return text + "…"


def _draw(content: _Content, scale: float, *, fallback: str | None, last_try: bool) -> _Page | None:
    """The page at this scale, or None when it leaves no room for a week of check-ins."""
    pdf = _Page(scale, fallback=fallback)
    pdf.set_title(content.title)
    pdf.set_creation_date(datetime.combine(content.made_on, time(), UTC))  # same data, same bytes
    full = PAGE_WIDTH - 2 * MARGIN
    footer = PAGE_HEIGHT - MARGIN - pdf.height_of(full, content.disclaimer, BODY - 1)

    y = pdf.paragraph(MARGIN, MARGIN, full, content.title, TITLE, bold=True)
    y = pdf.paragraph(MARGIN, y + 0.5, full, content.made, BODY, colour=MUTED) + GAP / 2

    y = pdf.heading(MARGIN, y, full, content.who_heading)
    y = pdf.paragraph(MARGIN, y, full, content.who) + GAP / 2

    y = pdf.heading(MARGIN, y, full, content.assessment_heading)
    y = pdf.paragraph(MARGIN, y, full, content.headline, bold=True) + 0.8
    for rule, text in content.reasons:
        pdf.paragraph(MARGIN, y, RULE_WIDTH, rule, bold=True, colour=ACCENT)
        y = pdf.paragraph(MARGIN + RULE_WIDTH, y, full - RULE_WIDTH, text) + 0.5
    y += GAP / 2

    left_end = _answers_column(pdf, content, y)
    right_end = _right_column(pdf, content, y)
    y = max(left_end, right_end) + GAP / 2

    if not _checkin_table(pdf, content, y, footer, last_try=last_try):
        return None
    pdf.paragraph(MARGIN, footer, full, content.disclaimer, BODY - 1, colour=MUTED)
    return pdf


def _answers_column(pdf: _Page, content: _Content, y: float) -> float:
    y = pdf.heading(MARGIN, y, LEFT_COLUMN, content.answers_heading)
    label = ANSWER_LABEL * max(pdf.scale, 0.85)
    for name, answer in content.answers:
        below_label = pdf.paragraph(MARGIN, y, label, name, BODY - 0.5, colour=MUTED)
        below_answer = pdf.paragraph(MARGIN + label, y, LEFT_COLUMN - label, answer, BODY - 0.5)
        y = max(below_label, below_answer) + 0.2
    return y


def _right_column(pdf: _Page, content: _Content, y: float) -> float:
    x = MARGIN + LEFT_COLUMN + GAP
    width = PAGE_WIDTH - MARGIN - x
    if content.chart is not None:
        y = pdf.heading(x, y, width, content.chart_heading)
        chart_width = width * pdf.scale
        pdf.image(BytesIO(content.chart), x=x + (width - chart_width) / 2, y=y, w=chart_width,
                  h=chart_width * CHART_ASPECT)
        y += chart_width * CHART_ASPECT + GAP / 2
    sections = [
        (content.phases_heading, content.phases),
        (content.retest_heading, content.retest),
        (content.visa_heading, content.visa),
    ]
    for heading, text in sections:
        if text is None:
            continue
        y = pdf.heading(x, y, width, heading)
        y = pdf.paragraph(x, y, width, text) + GAP / 2
    return y


def _checkin_table(pdf: _Page, content: _Content, y: float, bottom: float, *, last_try: bool) -> bool:
    """The newest check-ins that fit above `bottom`, in up to two blocks side by side (the second
    continues the first); False when not even a week fits."""
    full = PAGE_WIDTH - 2 * MARGIN
    y = pdf.heading(MARGIN, y, full, content.checkins_heading)
    row_height = pdf.line_height(TABLE) + 0.4
    if not content.rows:
        if bottom - GAP / 2 - y < row_height and not last_try:
            return False
        pdf.paragraph(MARGIN, y, full, content.no_checkins, colour=MUTED)
        return True
    y = pdf.paragraph(MARGIN, y, full, content.checkins_note, BODY - 1, colour=MUTED) + 0.8

    per_block = int((bottom - GAP / 2 - y) // row_height) - 1  # less the header row
    if per_block * TABLE_BLOCKS < len(content.rows):
        per_block -= 1  # a line to say how many were left out
    per_block = max(per_block, 0)
    if per_block * TABLE_BLOCKS < min(MIN_ROWS, len(content.rows)) and not last_try:
        return False
    shown = content.rows[: per_block * TABLE_BLOCKS]
    block_width = (full - GAP * (TABLE_BLOCKS - 1)) / TABLE_BLOCKS
    widths = [width * block_width / sum(TABLE_COLUMNS) for width in TABLE_COLUMNS]
    blocks = [shown[i : i + per_block] for i in range(0, len(shown), per_block or 1)]
    for number, rows in enumerate(blocks):
        _table_block(pdf, content.columns, rows, widths, MARGIN + number * (block_width + GAP), y, row_height)

    left_out = len(content.rows) - len(shown)
    if left_out:
        note = content.rows_left_out.format(count=left_out)
        pdf.paragraph(MARGIN, y + (per_block + 1) * row_height, full, note, BODY - 1, colour=MUTED)
    return True


def _table_block(
    pdf: _Page, columns: list[str], rows: list, widths: list[float], x: float, y: float, row_height: float
) -> None:
    pdf.set_fill_color(*ZEBRA)
    pdf.style(TABLE, bold=True, colour=MUTED)
    pdf.set_xy(x, y)
    for width, name in zip(widths, columns, strict=False):
        pdf.cell(width, row_height, pdf.fitted(name, width))
    for index, row in enumerate(rows, start=1):
        pdf.set_xy(x, y + index * row_height)
        for width, (text, alarming) in zip(widths, row, strict=True):
            pdf.style(TABLE, bold=alarming, colour=ALERT if alarming else INK)
            pdf.cell(width, row_height, pdf.fitted(text, width), fill=index % 2 == 1)
