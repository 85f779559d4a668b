"""Typed answers in English and Spanish at once: a runner's language is never assumed when reading
what they typed (a Spanish speaker may type "3 weeks", an English one "sí"). Numbers with their
units, number words, yes and no, times of day and time zones."""

from datetime import UTC, datetime
from zoneinfo import available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations import intake
from conversations.clinic import load_clinic
from conversations.engine import Engine
from conversations.intake import BY_ID, VISA_QUESTION, Unreadable, read_number, read_text, typed_labels
from conversations.messages import render_reply
from conversations.protocol import default_protocol
from conversations.reminders import find_zone, parse_time
from storage import open_store
from tests.runner_script import TYPICAL_RUNNER, onboard_in_engine
from tests.test_conversation import Phone

REASKS = ("use_buttons", "not_a_number", "whole_number", "out_of_range", "not_a_time", "not_a_zone")

# (question, what the runner typed, the answer kept)
READ = [
    ("weeks_of_symptoms", "8 semanas", 8),
    ("weeks_of_symptoms", "8 Semanas.", 8),
    ("weeks_of_symptoms", "una semana", 1),
    ("weeks_of_symptoms", "3 weeks", 3),
    ("weeks_of_symptoms", "5 sem", 5),
    ("weeks_of_symptoms", "14 días", 2),  # exactly two weeks
    ("weeks_of_symptoms", "3 meses", 12),  # a button's words
    ("structured_loading_weeks", "Nada todavía", 0),
    ("structured_loading_weeks", "un par de semanas", 2),
    ("morning_stiffness_minutes", "20 minutos", 20),
    ("morning_stiffness_minutes", "20 min", 20),
    ("morning_stiffness_minutes", "1 hora", 60),
    ("morning_stiffness_minutes", "1,5 horas", 90),
    ("morning_stiffness_minutes", "2 h", 120),
    ("morning_stiffness_minutes", "nada", 0),
    ("morning_stiffness_minutes", "Más de una hora", 90),
    ("weekly_km", "5,5 km", 5.5),
    ("weekly_km", "5.5 kilómetros", 5.5),
    ("weekly_km", "30 kilometros", 30),
    ("weekly_km", "12 kms", 12),
    ("checkin_km", "ocho km", 8),
    ("pain_now", "7 de 10", 7),
    ("pain_now", "7/10", 7),
    ("pain_now", "siete", 7),
    ("pain_now", "Siete de diez", 7),
    ("pain_now", "seven out of ten", 7),
    ("pain_now", "cero", 0),
    ("pain_now", "diez", 10),
    ("pain_now", "7 sobre 10", 7),
    ("age", "38 años", 38),
    ("age", "38 anos", 38),
    ("age", "38 years", 38),
    ("heel_raises_reps", "12 repeticiones", 12),
    ("heel_raises_reps", "diez veces", 10),
    ("heel_raises_reps", "No puedo ni una", 0),
    ("heel_raises_reps", "unas 15", 15),
    ("heel_raises_other_side", "Omitir", None),
    ("retest_reps", "25 reps", 25),
    ("hop_pain", "no lo intenté", None),
    ("checkin_pain", "Sin sesión ni carrera", None),
    ("side", "izquierdo", "left"),
    ("side", "LEFT!", "left"),
    ("side", "los dos", "both"),
    ("onset", "de repente", "sudden"),
    ("onset", "suddenly", "sudden"),
    ("onset", "Poco a poco", "gradual"),
    ("location", "no sé", "unsure"),
    ("mornings_trend", "peor", "worse"),
    ("trend", "mejor", "better"),
    ("warmup_pattern", "Mejora al calentar, luego regresa", "eases_then_returns"),
    ("settled_next_morning", "sí", True),
    ("settled_next_morning", "si", True),
    ("settled_next_morning", "SÍ", True),
    ("settled_next_morning", "Sí.", True),
    ("settled_next_morning", "¡sí!", True),
    ("settled_next_morning", "yes", True),
    ("settled_next_morning", "No, sigue doliendo", False),
    ("checkin_settled", "no", False),
    ("checkin_settled", "si", True),
    ("checkin_plan_done", "en parte", "partly"),
    ("checkin_plan_done", "sí", "yes"),
    ("checkin_plan_done", "No", "no"),
    ("checkin_overstride", "no sé", "unsure"),
    ("checkin_overstride", "no", "no"),
    ("checkin_walkrun", "sí", True),
    ("seen_clinician", "sí", True),
    ("seen_clinician", "no", False),
    ("reminder_time", "7 de la mañana", "07:00"),
    ("reminder_time", "07:30", "07:30"),
    ("reminder_zone", "hora del pacífico", "America/Los_Angeles"),
    ("reminder_zone", "EE. UU. Pacífico", "America/Los_Angeles"),
    ("reminder_zone", "Reino Unido", "Europe/London"),
    ("reminder_zone", "uk", "Europe/London"),
]

# (question, typed, why it is asked again): a clear reason, never a guess
REFUSED = [
    ("weeks_of_symptoms", "45 min", "not_a_number"),  # minutes are not weeks
    ("weeks_of_symptoms", "10 días", "not_a_number"),  # not a whole number of weeks
    ("weeks_of_symptoms", "5,5 semanas", "whole_number"),
    ("weeks_of_symptoms", "-3 semanas", "out_of_range"),
    ("weeks_of_symptoms", "600 semanas", "out_of_range"),
    ("morning_stiffness_minutes", "3 km", "not_a_number"),
    ("morning_stiffness_minutes", "11 horas", "out_of_range"),
    ("pain_now", "7 km", "not_a_number"),
    ("pain_now", "once", "not_a_number"),  # 11 in Spanish: only words up to ten are read
    ("pain_now", "11", "out_of_range"),
    ("pain_now", "5,5", "whole_number"),
    ("pain_now", ".5", "not_a_number"),
    ("pain_now", "-1", "out_of_range"),
    ("pain_now", "siete y algo", "not_a_number"),
    ("age", "7/10", "not_a_number"),
    ("weekly_km", "mucho", "not_a_number"),
    ("side", "la izquierda creo", "use_buttons"),
    ("settled_next_morning", "no", "use_buttons"),  # "No, still sore" or "No recent run"?
    ("checkin_walkrun", "no", "use_buttons"),  # "No, I skipped it" or "No tocaba caminar-correr"?
    ("warmup_pattern", "mejora al calentar", "use_buttons"),  # it may come back later, or not
    ("strength_days", "lunes", "use_buttons"),  # tick boxes: never typed
    ("reminder_time", "25:00", "not_a_time"),
    ("reminder_time", "13 pm", "not_a_time"),
    ("reminder_zone", "Narnia", "not_a_zone"),
]


@pytest.mark.parametrize("question_id, text, value", READ)
def test_a_typed_answer_in_either_language_is_read(question_id, text, value):
    read = read_text(BY_ID[question_id], text)
    assert read == value and type(read) is type(value)


@pytest.mark.parametrize("question_id, text, key", REFUSED)
def test_what_cannot_be_read_for_sure_is_asked_again_with_the_reason(question_id, text, key):
    with pytest.raises(Unreadable) as caught:
        read_text(BY_ID[question_id], text)
    assert caught.value.key == key


def test_no_typed_words_mean_two_different_answers_in_any_language_today():
    clashes = {
        (question_id, form): values
        for question_id in BY_ID
        for form, values in typed_labels(question_id).items()
        if len(values) > 1
    }
    assert clashes == {}, "two buttons read alike: reword one, or a runner typing it is asked to tap"


def test_words_that_would_mean_two_answers_are_refused_not_guessed(monkeypatch):
    monkeypatch.setattr(intake, "typed_labels", lambda question_id: {"si": (True, None)})
    with pytest.raises(Unreadable) as caught:
        read_text(BY_ID["settled_next_morning"], "Sí")
    assert caught.value.key == "use_buttons"


def test_no_question_reads_typed_weekday_names():
    """Weekdays are only ever tick boxes; a question that read them typed would need 'lunes' too."""
    weekdays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    assert all(q.kind == "multi" for q in BY_ID.values() if weekdays & set(q.options))


def test_visa_takes_plain_numbers_and_number_words():
    assert read_number(VISA_QUESTION, "64") == 64
    assert read_number(VISA_QUESTION, "diez") == 10
    with pytest.raises(Unreadable):
        read_number(VISA_QUESTION, "64/10")


TIMES = {
    "7:30": "07:30", "07.30": "07:30", "19h05": "19:05", "7": "07:00", "19": "19:00",
    "7 am": "07:00", "7:30 pm": "19:30", "7pm": "19:00", "7 a.m.": "07:00", "7 P.M.": "19:00",
    "7 a. m.": "07:00", "at 7pm": "19:00", "12 am": "00:00", "12 pm": "12:00", "19 h": "19:00",
    "19 hrs": "19:00", "19:00 hrs": "19:00", "19 horas": "19:00", "7 de la mañana": "07:00",
    "7:30 de la tarde": "19:30", "9 de la noche": "21:00", "12 de la noche": "00:00",
    "a las 6 de la manana": "06:00", "5 de la madrugada": "05:00", "7 y media": "07:30",
    "6 y cuarto de la tarde": "18:15", "mediodía": "12:00", "Mediodia": "12:00", "noon": "12:00",
    "midnight": "00:00", "medianoche": "00:00", "¿7:30?": "07:30",
}
NOT_TIMES = ["25:00", "7:75", "13 pm", "0 am", "24:00", "7.5", "7:3", "siete", "mañana", "", "  ", "pm",
             "7 de la", "1e3", "7:30:00"]


@pytest.mark.parametrize("text, clock", TIMES.items())
def test_times_of_day_as_runners_write_them(text, clock):
    assert parse_time(text) == clock


@pytest.mark.parametrize("text", NOT_TIMES)
def test_what_is_not_a_time_of_day(text):
    assert parse_time(text) is None


ZONES = {
    "nueva york": "America/New_York", "Ciudad de México": "America/Mexico_City",
    "CDMX": "America/Mexico_City", "los ángeles": "America/Los_Angeles", "Pasadena": "America/Los_Angeles",
    "hora del pacífico": "America/Los_Angeles", "Hora del Centro": "America/Chicago",
    "hora de la montaña": "America/Denver", "hora del este": "America/New_York",
    "Guatemala": "America/Guatemala", "san salvador": "America/El_Salvador",
    "Tegucigalpa": "America/Tegucigalpa", "Bogotá": "America/Bogota", "madrid": "Europe/Madrid",
    "Londres": "Europe/London", "Sídney": "Australia/Sydney", "sydney": "Australia/Sydney",
    "pacific time": "America/Los_Angeles", "Eastern Time": "America/New_York",
    "central time": "America/Chicago", "mountain time": "America/Denver", "hora de Madrid": "Europe/Madrid",
    "london time": "Europe/London", "new york": "America/New_York", "Europe/Madrid": "Europe/Madrid",
    "america/mexico_city": "America/Mexico_City", "UTC": "UTC",
}


@pytest.mark.parametrize("text, zone", ZONES.items())
def test_time_zones_by_the_names_runners_use(text, zone):
    assert find_zone(text) == zone


@pytest.mark.parametrize("text", ["Narnia", "", "   ", "hora", "centro", "este", "?"])
def test_what_is_not_a_time_zone(text):
    assert find_zone(text) is None


# --- through the conversation, as a Spanish-speaking runner sees it --------------------------------


class SpanishPhone(Phone):
    """A runner whose Telegram is in Spanish: every screen drawn in Spanish."""

    def send(self, event):
        screens = [render_reply(reply, "es") for reply in self.coach.handle(self.runner_id, event).replies]
        self.screens += screens
        return screens


@pytest.fixture
def coach():
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    return Engine(open_store(None), load_clinic(), default_protocol(), lambda: monday)


@pytest.fixture
def phone(coach):
    phone = SpanishPhone(coach, 34)
    phone.command("start")
    phone.tap("Entiendo y acepto")
    return phone


def state(phone: Phone) -> str:
    return phone.coach.store.load(phone.runner_id)["state"]


def spanish_runner_after(coach: Engine, steps: int, runner_id: int = 37) -> SpanishPhone:
    """A Spanish-speaking runner who has answered the first `steps` questions of the typical runner."""
    onboard_in_engine(coach, runner_id, TYPICAL_RUNNER[:steps])
    return SpanishPhone(coach, runner_id)


# The typical runner (tests/runner_script.py), typing every answer that is not a tick box, in Spanish.
TYPED_IN_SPANISH = [
    ("tap", "Ninguna de estas"),
    ("say", "38 años"),
    ("say", "derecho"),
    ("say", "poco a poco"),
    ("say", "18 repeticiones"),
    ("say", "omitir"),
    ("say", "tres"),
    ("say", "Por encima del talon (2-7 cm)"),
    ("say", "6 semanas"),
    ("say", "10-30 min"),
    ("say", "mejora al calentar, luego regresa"),
    ("say", "2 de 10"),
    ("say", "tres"),
    ("say", "sí"),
    ("say", "más o menos igual"),
    ("say", "cuatro"),
    ("say", "30 km"),
    ("say", "30 kilómetros"),
    ("tap", "Ninguna de estas"),
    ("say", "nada todavía"),
    ("say", "Más o menos igual"),
    ("tap", "Ninguna de estas"),
]


def test_a_spanish_runner_types_the_questionnaire_and_gets_the_same_plan_as_by_tapping(phone, coach):
    phone.follow(TYPED_IN_SPANISH)
    assert state(phone) == "reminder_time"
    onboard_in_engine(coach, 35, TYPICAL_RUNNER)  # the same answers, tapped in English
    typed, tapped = coach.store.load(34), coach.store.load(35)
    assert typed["answers"] == tapped["answers"]
    assert typed["assessment"] == tapped["assessment"]
    phone.say("7 de la mañana")
    phone.say("hora del pacífico")
    phone.tap("Listo")
    reminder = coach.store.load(34)["reminder"]
    assert (reminder["time"], reminder["timezone"]) == ("07:00", "America/Los_Angeles")
    assert "todos los días a las 07:00 (America/Los_Angeles)" in phone.text


@pytest.mark.parametrize(
    "steps, typed, question, value",
    [
        (8, "8 semanas", "weeks_of_symptoms", 8),
        (8, "3 weeks", "weeks_of_symptoms", 3),  # English, from a Spanish-speaking runner
        (11, "siete", "pain_now", 7),
        (11, "7 de 10", "pain_now", 7),
        (13, "si", "settled_next_morning", True),
        (16, "5,5 km", "weekly_km", 5.5),
    ],
)
def test_a_typed_spanish_answer_moves_the_conversation_on(coach, steps, typed, question, value):
    phone = spanish_runner_after(coach, steps)
    assert state(phone) == question
    phone.say(typed)
    assert state(phone) != question
    assert coach.store.load(phone.runner_id)["answers"][question] == value


def test_an_english_speaking_runner_may_answer_si(coach):
    onboard_in_engine(coach, 36, TYPICAL_RUNNER[:13])
    Phone(coach, 36).say("Sí")
    assert coach.store.load(36)["answers"]["settled_next_morning"] is True


@pytest.mark.parametrize(
    "steps, typed, reply, asked_again",
    [
        (8, "45 min", "Aquí necesito un número, de 0 a 520 (o toca un botón).", "¿Cuántas semanas llevas"),
        (8, "10 días", "Aquí necesito un número, de 0 a 520 (o toca un botón).", "¿Cuántas semanas llevas"),
        (11, "once", "Aquí necesito un número, de 0 a 10 (o toca un botón).", "¿Cuánto te duele ahora mismo"),
        (11, "5,5", "Un número entero, por favor, de 0 a 10.", "¿Cuánto te duele ahora mismo"),
        (13, "no", "Por favor, elige uno de los botones de abajo.", "¿el dolor había vuelto a la normalidad"),
    ],
)
def test_a_refusal_in_spanish_says_why_and_asks_the_same_question_again(coach, steps, typed, reply,
                                                                       asked_again):
    phone = spanish_runner_after(coach, steps)
    before = coach.store.load(phone.runner_id)
    first, *rest = phone.say(typed)
    assert reply in first.html
    assert asked_again in rest[-1].html and rest[-1].buttons, "the question again, with its buttons"
    assert coach.store.load(phone.runner_id)["answers"] == before["answers"]
    assert state(phone) == before["state"]


def test_reminder_time_and_zone_typed_in_spanish_are_refused_kindly(phone):
    phone.follow(TYPED_IN_SPANISH)
    phone.say("25:00")
    assert "escribe una hora como 07:30" in phone.text and state(phone) == "reminder_time"
    phone.say("9 de la noche")
    phone.say("Narnia")
    assert "No conozco esa zona horaria" in phone.text and state(phone) == "reminder_zone"
    phone.say("CDMX")
    assert state(phone) == "strength_days"
    draft = phone.coach.store.load(34)["draft"]
    assert (draft["reminder_time"], draft["reminder_zone"]) == ("21:00", "America/Mexico_City")


# --- whatever is typed: an answer or a reason, never a crash, in linear time -----------------------

WORDS = ["sí", "no", "semanas", "de", "la", "mañana", "10", "7", ":", "h", "km", "¿", "!", " ", "-", ",",
         ".", "5,5", "siete", "hora", "del", "pacífico", "ñ", "é", "\u0301", "a.m.", "y media", "٣", "½"]
any_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join),
    st.lists(st.sampled_from(WORDS), max_size=12).map("".join),
    # runner-sized pastes, up to Telegram's 4,096 characters
    st.tuples(st.sampled_from([*WORDS, "7 de 10 ", "a", "1,", "no puedo "]), st.integers(200, 4000)).map(
        lambda piece: (piece[0] * piece[1])[:4096]
    ),
)


@given(st.sampled_from(sorted(BY_ID)), any_text)
@settings(max_examples=150, deadline=None)
def test_any_text_in_any_language_is_read_or_refused_with_a_reason(question_id, text):
    question = BY_ID[question_id]
    try:
        value = read_text(question, text)
    except Unreadable as problem:
        assert problem.key in REASKS
        return
    if question.kind in ("number", "pain") and value is not None:
        assert question.minimum <= value <= question.maximum


@given(any_text)
@settings(max_examples=150, deadline=None)
def test_parse_time_and_find_zone_never_fail(text):
    clock = parse_time(text)
    assert clock is None or (len(clock) == 5 and 0 <= int(clock[:2]) <= 23 and 0 <= int(clock[3:]) <= 59)
    zone = find_zone(text)
    assert zone is None or zone in available_timezones()
