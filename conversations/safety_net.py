"""The free-text safety net: words in a runner's message that may mean a red flag (R1-R4).

Runners do not always tick a box; they write "I felt a pop during sprints". Whatever the
conversation is doing, a typed message that mentions one of these signs gets the safety
question at once (with the signs found already ticked), never "please choose a button".
A false alarm costs the runner one tap; a missed rupture costs far more, so the patterns
lean towards asking.
"""

from __future__ import annotations

import re

NEAR = r"[^.!?\n]{0,40}"  # within the same sentence, a few words apart
CANNOT = r"\b(?:can ?not|can'?t|cant|unable to|couldn'?t|could not)\b"

SIGNS: dict[str, tuple[str, ...]] = {
    "pop_or_kick": (
        r"\bpop(?:s|ped|ping)?\b",
        r"\bsnap(?:s|ped|ping)?\b",
        r"\bkicked\b",  # not "kick": a runner's finishing kick is no red flag
        rf"\bkick\b{NEAR}\b(?:ankle|heel|calf|leg|tendon|achilles)\b",
        r"\bsomeone (?:hit|shot) me\b",
        r"\b(?:heard|felt) a (?:crack|bang|clunk)\b",
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
}
_COMPILED = {flag: re.compile("|".join(patterns), re.IGNORECASE) for flag, patterns in SIGNS.items()}
LONGEST_TEXT = 4096  # Telegram's own limit; nothing longer is read


def signs_in(text: str) -> list[str]:
    """The red-flag ids a message mentions, in the order of the safety screen."""
    text = text[:LONGEST_TEXT].replace("’", "'")
    return [flag for flag, pattern in _COMPILED.items() if pattern.search(text)]
