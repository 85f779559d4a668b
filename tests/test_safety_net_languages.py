"""The free-text safety net in every language: a red flag written in Spanish gets the safety question
with the right sign ticked, as one written in English does, and ordinary runner talk does not."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.answers import URGENT_FLAGS
from conversations.clinic import load_clinic
from conversations.engine import Engine
from conversations.intake import BY_ID
from conversations.messages import LANGUAGES, option_labels
from conversations.protocol import default_protocol
from conversations.safety_net import SIGNS, signs_in
from storage import open_store
from tests.test_spanish_input import SpanishPhone

# What a Spanish-speaking runner may write, and the sign it must tick.
SPANISH_RED_FLAGS = [
    ("Sentí un chasquido en el talón corriendo", "pop_or_kick"),
    ("senti un chasquido", "pop_or_kick"),
    ("SENTÍ UN CHASQUIDO ATRÁS DEL TOBILLO", "pop_or_kick"),
    ("hubo un tronido en la subida", "pop_or_kick"),
    ("me tronó el tendón en la subida", "pop_or_kick"),
    ("escuché un crujido atrás del tobillo", "pop_or_kick"),
    ("fue como un latigazo", "pop_or_kick"),
    ("sentí un golpe en el tobillo y paré", "pop_or_kick"),
    ("oí un pop", "pop_or_kick"),
    ("fue como una patada en el talón", "pop_or_kick"),
    ("sentí una patada en el talón", "pop_or_kick"),
    ("una patada en el tendón mientras corría", "pop_or_kick"),
    ("como si me hubieran dado una patada", "pop_or_kick"),
    ("Me dieron una patada atrás de la pierna", "pop_or_kick"),
    ("como si alguien me golpeara el talón", "pop_or_kick"),
    ("creo que se me rompió el tendón", "pop_or_kick"),
    ("se me reventó el tendón de Aquiles", "pop_or_kick"),
    ("No puedo pararme de puntas", "cannot_heel_raise"),
    ("no me puedo poner de puntillas con la derecha", "cannot_heel_raise"),
    ("ya no puedo ponerme de puntitas", "cannot_heel_raise"),
    ("NO PUEDO EMPUJAR con ese pie", "cannot_heel_raise"),
    ("no puedo impulsarme al caminar", "cannot_heel_raise"),
    ("no puedo levantar el talón del piso", "cannot_heel_raise"),
    ("tengo un hueco en el tendón", "gap_in_tendon"),
    ("se siente un hundimiento arriba del talón, en el tendón", "gap_in_tendon"),
    ("el tendón tiene como un hoyo", "gap_in_tendon"),
    ("noto una hendidura en el tendon", "gap_in_tendon"),
    ("Tengo la pantorrilla hinchada y caliente", "calf_swelling_warmth_redness"),
    ("el chamorro está rojo", "calf_swelling_warmth_redness"),
    ("gemelo inflamado desde ayer", "calf_swelling_warmth_redness"),
    ("la pantorrilla enrojecida", "calf_swelling_warmth_redness"),
    ("tengo hinchazón en la pantorrilla", "calf_swelling_warmth_redness"),
    ("tengo dolor en el pecho", "breathless_or_chest_pain"),
    ("un dolor de pecho raro", "breathless_or_chest_pain"),
    ("opresión en el pecho al subir escaleras", "breathless_or_chest_pain"),
    ("me falta el aire caminando", "breathless_or_chest_pain"),
    ("no puedo respirar bien", "breathless_or_chest_pain"),
    ("me ahogo al subir la escalera", "breathless_or_chest_pain"),
    ("falta de aire", "breathless_or_chest_pain"),
    ("me quedo sin aliento con nada", "breathless_or_chest_pain"),
    ("Tengo fiebre desde el lunes", "fever_or_hot_heel"),
    ("anoche tuve calentura", "fever_or_hot_heel"),
    ("escalofríos y dolor", "fever_or_hot_heel"),
    ("el talón está caliente y rojo", "fever_or_hot_heel"),
    ("talón hinchado", "fever_or_hot_heel"),
    ("estoy tomando ciprofloxacino", "fluoroquinolone"),
    ("me recetaron levofloxacino", "fluoroquinolone"),
    ("tomé moxifloxacino el mes pasado", "fluoroquinolone"),
    ("el doctor me dio cipro", "fluoroquinolone"),
    ("me dieron una quinolona para la infección", "fluoroquinolone"),
]

# What runners write every day: none of it may bring the safety question.
ORDINARY_SPANISH = [
    "Hoy hice 10 km suaves y me sentí bien",
    "Me duele el talón por la mañana",
    "me duele el talón al levantarme, luego mejora",
    "Terminé con una buena patada final en los últimos 400 metros",
    "Me sentí como nunca y cerré con una patada final",
    "di la patada final y me dolió un poco la pierna",
    "el tendón está rígido por las mañanas",
    "Hice las elevaciones de talón, 3 series de 15",
    "Corrí en la pista y luego estiré los gemelos",
    "tengo los gemelos cargados después de la carrera",
    "Hizo mucho calor hoy en el entrenamiento",
    "Calenté 10 minutos antes de correr y calenté bien los gemelos",
    "me duele un poco el tendón al subir escaleras",
    "Mañana descanso y el jueves hago series",
    "Compré tenis nuevos con menos desnivel",
    "la molestia bajó a 2 de 10",
    "el fisio me dijo que siga con los ejercicios",
    "me puse hielo en el tendón",
    "respiré hondo y seguí",
    "sentí un poco de dolor al final",
    "No puedo correr hoy, tengo trabajo",
    "me tomé un ibuprofeno",
    "la pierna derecha está un poco cansada",
    "estoy listo para el medio maratón",
    "sí", "no", "8 semanas", "7 de 10", "siete", "7 de la mañana", "hora del pacífico", "5,5 km",
]
# And in English: the Spanish words must not turn everyday English into alarms either.
ORDINARY_ENGLISH = [
    "Great finishing kick at the end of the 10k",
    "My heel hurts in the morning",
    "I did my heel raises, 3 sets of 15",
    "Ran 8 km easy, calves a bit tight",
    "It was hot today so I ran early",
    "I can't run tomorrow, work trip",
    "Physio says keep going with the exercises",
    "yes", "no", "3 weeks", "7 out of 10", "7 pm", "pacific time",
]


def test_every_language_has_patterns_for_every_sign():
    for lang in LANGUAGES:
        assert lang in SIGNS, f"add the safety net's words for {lang!r} to conversations/safety_net.py"
        assert tuple(SIGNS[lang]) == URGENT_FLAGS, f"{lang!r}: one entry per sign, in the screen's order"
        assert all(SIGNS[lang][flag] for flag in URGENT_FLAGS), f"{lang!r}: a sign with no patterns"


@pytest.mark.parametrize("text, sign", SPANISH_RED_FLAGS)
def test_a_red_flag_written_in_spanish_is_found(text, sign):
    assert sign in signs_in(text)


@pytest.mark.parametrize("text", ORDINARY_SPANISH + ORDINARY_ENGLISH)
def test_ordinary_runner_talk_is_no_red_flag(text):
    assert signs_in(text) == []


def test_accents_and_case_do_not_matter():
    for text in ("Sentí un chasquido", "senti un chasquido", "SENTI UN CHASQUIDO", "Sentí un chasquido"):
        assert signs_in(text) == ["pop_or_kick"], text
    assert signs_in("talón caliente") == signs_in("talon caliente") == ["fever_or_hot_heel"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_words_of_each_red_flag_button_find_that_sign(lang):
    """A runner who types what the safety screen's button says gets that very sign ticked."""
    for flag, label in option_labels("red_flags", lang).items():
        assert flag in signs_in(label), (lang, label)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_typing_any_other_button_never_brings_the_safety_question(lang):
    for question_id in BY_ID:
        if question_id != "red_flags":
            for label in option_labels(question_id, lang).values():
                assert signs_in(str(label)) == [], (lang, question_id, label)


@pytest.fixture
def phone():
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    coach = Engine(open_store(None), load_clinic(), default_protocol(), lambda: monday)
    phone = SpanishPhone(coach, 41)
    phone.command("start")
    phone.tap("Entiendo y acepto")
    phone.tap("Ninguna de estas")  # at the age question now
    return phone


def test_each_spanish_red_flag_brings_the_safety_question_with_its_sign_ticked(phone):
    labels = option_labels("red_flags", "es")
    for text, sign in SPANISH_RED_FLAGS:
        question = phone.screens[-1]
        phone.say(text)
        assert "Antes que nada: una revisión de seguridad" in phone.text, text
        ticked = [b.label for row in phone.screens[-1].buttons for b in row if b.label.startswith("✅")]
        assert f"✅ {labels[sign]}" in ticked, (text, ticked)
        phone.tap("Ninguna de estas")
        assert phone.screens[-1].html == question.html, "the same question again"
    assert phone.coach.store.load(41)["state"] == "age"


def test_ordinary_spanish_talk_at_a_question_is_a_plain_reask(phone):
    for text in ORDINARY_SPANISH:
        phone.say(text)
        assert "revisión de seguridad" not in phone.text, text
    assert phone.coach.store.load(41)["state"] == "age"


@given(st.one_of(
    st.text(max_size=200),
    st.tuples(st.sampled_from(["no puedo ", "pantorrilla ", "tendón ", "á", "1,", "como si me ", "talón "]),
              st.integers(100, 1000)).map(lambda piece: piece[0] * piece[1]),
))
@settings(max_examples=60, deadline=None)
def test_any_message_is_read_without_failing(text):
    assert set(signs_in(text)) <= set(URGENT_FLAGS)
