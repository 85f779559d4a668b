"""The free-text safety net: words in a runner's message that may mean a red flag (R1-R4).

Runners do not always tick a box; they write "I felt a pop during sprints" or "sentí un
chasquido". Whatever the conversation is doing, a typed message that mentions one of these signs
gets the safety question at once (with the signs found already ticked), never "please choose a
button". A false alarm costs the runner one tap; a missed rupture costs far more, so the patterns
lean towards asking.

The patterns are data, one set per language (every language of conversations.messages.LANGUAGES
has one for every sign, and a test says so), and a message is read in all of them at once: a
runner may write in either language whatever the bot speaks to them. Accents are dropped from
the text before matching ("sentí" -> "senti"), so patterns are written without them.
"""

from __future__ import annotations

import re
import unicodedata

NEAR = r"[^.!?\n]{0,40}"  # within the same sentence, a few words apart
CANNOT = r"\b(?:can ?not|can'?t|cant|unable to|couldn'?t|could not)\b"
NO_PUEDO = r"\b(?:no (?:me )?(?:puedo|pude|podia|logro|consigo)|sin poder)\b"
TIPTOE = r"(?:de|en) (?:la |las )?(?:puntas?|puntitas|puntillas)"  # "de puntas", "en la punta"
TENDON = r"\b(?:tendon|aquiles)\b"
CALF = r"\b(?:pantorrillas?|chamorros?|gemelos?)\b"
INFLAMED = (  # swollen, inflamed, hot or red ("calor" is the weather; "calentar", warming up)
    r"\b(?:hinchad[oa]s?|hinchazon|inflamad[oa]s?|calientes?|roj[oa]s?|enrojecid[oa]s?|enrojecimiento)\b"
)

SIGNS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "pop_or_kick": (
            r"\bpop(?:s|ped|ping)?\b",
            r"\bsnap(?:s|ped|ping)?\b",
            r"\bkicked\b",  # not "kick": a runner's finishing kick is no red flag
            rf"\bkick\b{NEAR}\b(?:ankle|heel|calf|leg|tendon|achilles)\b",
            r"\bsomeone (?:hit|shot) me\b",
            r"\b(?:heard|felt) a (?:crack|bang|clunk)\b",
            r"\b(?:ruptur(?:e|ed|ing)|torn|tore)\b" + NEAR + r"\b(?:tendon|achilles)\b",
            r"\b(?:tendon|achilles)\b" + NEAR + r"\b(?:ruptur(?:e|ed)|torn|tore|gave way|snapped)\b",
        ),
        "cannot_heel_raise": (
            rf"{CANNOT}{NEAR}\b(?:tip ?-?toes?|toes|push off)\b",
            r"\bno push ?-?off\b",
            r"\bweak push ?-?off\b",
        ),
        "gap_in_tendon": (
            rf"\b(?:gap|dent|hole|dip)\b{NEAR}\btendon\b",
            rf"\btendon\b{NEAR}\b(?:gap|dent|hole|dip)\b",
        ),
        "calf_swelling_warmth_redness": (
            rf"\bcalf\b{NEAR}\b(?:swollen|swelling|swelled|puffy|hot|warm|red|redness)\b",
            r"\b(?:swollen|puffy|hot|warm|red)\b calf\b",
        ),
        "breathless_or_chest_pain": (
            rf"\bchest\b{NEAR}\b(?:pain|painful|hurts?|tight|tightness|pressure)\b",
            r"\bbreathless",
            r"\bshort(?:ness)? of breath\b",
            r"\bcan'?t (?:catch my )?breathe?\b",
            r"\bstruggling to breathe\b",
        ),
        "fever_or_hot_heel": (
            r"\bfever(?:ish)?\b",
            r"\b(?:a|high|running a) temperature\b",
            r"\bchills\b",
            rf"\bheel\b{NEAR}\b(?:hot|red|swollen|redness)\b",
            r"\b(?:hot|red|swollen)\b heel\b",
        ),
        "fluoroquinolone": (
            r"\bfluoroquinolone",
            r"\b\w*floxacin\b",  # ciprofloxacin, levofloxacin, moxifloxacin, ofloxacin...
            r"\bcipro\b",
            r"\b(?:levaquin|avelox|cipro?xin|tavanic)\b",
        ),
    },
    "es": {
        "pop_or_kick": (
            r"\b(?:chasquidos?|tronidos?|crujidos?|latigazos?)\b",
            r"\b(?:me |se )?(?:trono|tronaron)\b",  # "me tronó el tendón"; not "truena", a click
            r"\b(?:senti|oi|escuche|note) (?:como )?una? (?:golpe|pop|estallido|trueno|patada)\b",
            r"\bcomo (?:una|si me \w+(?: \w+)? una) patada\b",
            rf"\bpatada\b(?! final){NEAR}\b(?:tobillo|talon|pantorrilla|chamorro|pierna|tendon|aquiles)\b",
            r"\bme (?:dieron|dio|pegaron|pego|metieron|metio) una patada\b",
            r"\bme (?:patearon|pateo)\b",
            r"\bcomo si (?:alguien |algo )?me (?:\w+ )?(?:golpe|pega|pate|dispar)\w*",
            rf"\b(?:se me |me |se )(?:rompio|rompi|revento|reviento|desgarro|desgarre)\b{NEAR}{TENDON}",
            rf"\b(?:ruptura|rotura)\b{NEAR}{TENDON}",
            rf"{TENDON}{NEAR}\b(?:roto|reventado|desgarrado)\b",
        ),
        "cannot_heel_raise": (
            rf"{NO_PUEDO}{NEAR}\b(?:{TIPTOE}|empujar|impulsar(?:me)?|despegar|elevacion(?:es)?"
            r"|(?:levantar|subir|elevar) (?:el |los )?talon(?:es)?)\b",
            rf"\b(?:sin|no tengo) fuerza\b{NEAR}\b(?:{TIPTOE}|empujar|impulsar(?:me)?)\b",
        ),
        "gap_in_tendon": (
            rf"\b(?:hueco|hundimiento|hundid[oa]|hoyo|hendidura|agujero|muesca)\b{NEAR}{TENDON}",
            rf"{TENDON}{NEAR}\b(?:hueco|hundimiento|hundid[oa]|hoyo|hendidura|agujero|muesca)\b",
        ),
        "calf_swelling_warmth_redness": (
            rf"{CALF}{NEAR}{INFLAMED}",
            rf"{INFLAMED}{NEAR}{CALF}",
        ),
        "breathless_or_chest_pain": (
            rf"\bpecho\b{NEAR}\b(?:dolor|duele|dolia|opresion|presion|apretado|aprieta|punzada)\b",
            rf"\b(?:dolor|duele|dolia|opresion|presion|punzada)\b{NEAR}\bpecho\b",
            r"\bfalta de (?:aire|aliento)\b",
            r"\bme falta(?:ba)? (?:el )?(?:aire|aliento)\b",
            rf"{NO_PUEDO} respirar\b",
            r"\b(?:me cuesta|dificultad para) respirar\b",
            r"\bme ahog\w*",
            r"\bsin aliento\b",
        ),
        "fever_or_hot_heel": (
            r"\b(?:fiebre|calentura|febril|escalofrios?)\b",
            r"\b(?:tengo|tenia|tuve|me dio|me subio la) temperatura\b",
            rf"\btalon(?:es)?\b{NEAR}{INFLAMED}",
            rf"{INFLAMED}{NEAR}\btalon(?:es)?\b",
        ),
        "fluoroquinolone": (
            r"\b(?:fluoro)?quinolona",
            r"\b\w*floxacin[oa]?\b",  # ciprofloxacino/a, levofloxacino, moxifloxacino...
            r"\b(?:cipro|ciproxina|avelox|tavanic|levaquin)\b",
        ),
    },
}
# One pattern per sign, every language's words in it.
_COMPILED = {
    flag: re.compile("|".join(pattern for words in SIGNS.values() for pattern in words.get(flag, ())),
                     re.IGNORECASE)
    for flag in SIGNS["en"]
}
SPACES = re.compile(r"[^\S\n]+")  # runs of spaces as one; a new line still ends a sentence
LONGEST_TEXT = 4096  # Telegram's own limit; nothing longer is read


def without_accents(text: str) -> str:
    """'Sentí un chasquido en el talón' -> 'Senti un chasquido en el talon'."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def signs_in(text: str) -> list[str]:
    """The red-flag ids a message mentions, in any language, in the order of the safety screen."""
    text = SPACES.sub(" ", without_accents(text[:LONGEST_TEXT].replace("’", "'")))
    return [flag for flag, pattern in _COMPILED.items() if pattern.search(text)]
