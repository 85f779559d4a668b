"""The triage engine: the rules R1-R13 of the clinical brief, applied to one runner's answers.

Each rule is a short function named after what it checks. It returns a `Finding` (what fired
and why) or None. `assess` runs them in order of weight, safety first: any R1-R4 finding ends
the self-care path at once. The safety rules read only `SafetyFacts` (the red flags and the
heel-raise test), so the questionnaire can stop at the urgent screen as soon as they decide.
Every number comes from `conversations.thresholds`. An assessment's reasons are data (rule
ids, whys and facts); their words are in `templates/reasons/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conversations.answers import Answers, Assessment, Reason
from conversations.thresholds import THRESHOLDS as T

TRIAGE_ORDER = ("self_care", "refer", "urgent", "emergency")
REFERRAL_ORDER = ("none", "routine", "this_week", "today", "emergency")
RUNNING_ORDER = ("stop", "reduce", "hold", "progress")  # most cautious first
HIGHEST_PHASE = 4


@dataclass(frozen=True)
class Finding:
    rule: str
    whys: tuple[str, ...]
    triage: str = "self_care"
    referral: str = "none"
    running_at_most: str = "progress"
    ends_programme: bool = False  # a clinician must see the runner before any programme
    phase_at_most: int = HIGHEST_PHASE  # a gentle programme only, until a clinician has seen them
    modifications: tuple[str, ...] = ()
    facts: dict = field(default_factory=dict)


# --- Safety first: any of these ends the self-care path (R1-R4) ---------------------------


@dataclass(frozen=True)
class SafetyFacts:
    """What the safety rules read. The heel-raise test may not have been done yet (None)."""

    flags: frozenset[str]
    onset: str | None = None
    reps: int | None = None
    reps_other_side: int | None = None

    @classmethod
    def of(cls, a: Answers) -> SafetyFacts:
        return cls(frozenset(a.red_flags), a.onset, a.heel_raises.reps, a.heel_raises_other_side)


def clot(s: SafetyFacts) -> Finding | None:
    """R2. Breathlessness or chest pain is an emergency whether or not the calf is swollen."""
    if "breathless_or_chest_pain" in s.flags:
        return Finding("R2", ("breathless",), "emergency", "emergency", "stop", True)
    if "calf_swelling_warmth_redness" in s.flags:
        return Finding("R2", ("calf",), "urgent", "today", "stop", True)
    return None


def weak_push_off(s: SafetyFacts) -> tuple[str, ...]:
    """R1 from the heel-raise test, whatever was ticked: a torn tendon can hardly hurt."""
    if s.reps is None:
        return ()
    if s.reps == 0:
        return ("no_raise",)
    if s.onset != "sudden":
        return ()
    if s.reps < T.rupture_raises_after_sudden_onset:
        return ("few_raises_after_sudden_onset",)
    if s.reps_other_side and s.reps < T.rupture_fraction_of_other_side * s.reps_other_side:
        return ("weak_against_other_side",)
    return ()


def rupture(s: SafetyFacts) -> Finding | None:
    """R1. Low pain does not rule a rupture out, so pain is never consulted here."""
    whys = tuple(f for f in ("pop_or_kick", "cannot_heel_raise", "gap_in_tendon") if f in s.flags)
    whys += weak_push_off(s)
    if whys:
        facts = {"reps": s.reps, "reps_other_side": s.reps_other_side}
        return Finding("R1", whys, "urgent", "today", "stop", True, facts=facts)
    return None


def antibiotic(s: SafetyFacts) -> Finding | None:
    """R3. The prescriber, not the physio, decides about the antibiotic."""
    if "fluoroquinolone" in s.flags:
        return Finding("R3", ("fluoroquinolone",), "urgent", "today", "stop", True)
    return None


def infection(s: SafetyFacts) -> Finding | None:
    """R4."""
    if "fever_or_hot_heel" in s.flags:
        return Finding("R4", ("fever_or_hot_heel",), "urgent", "today", "stop", True)
    return None


SAFETY_RULES = (clot, rupture, antibiotic, infection)


def assess_safety(facts: SafetyFacts) -> Assessment | None:
    """The safety rules alone: an urgent assessment if any R1-R4 rule fires, else None."""
    findings = [f for rule in SAFETY_RULES if (f := rule(facts))]
    return _assessment(findings, phase=None, running="stop") if findings else None


# --- A clinician should see the runner (R5-R8, R13) ---------------------------------------


def inflammatory(a: Answers) -> Finding | None:
    """R5. A gentle programme may go on while the runner waits for the appointment."""
    whys = ()
    if "inflammatory_signs" in a.red_flags:
        whys += ("signs",)
    if a.morning_stiffness_minutes > T.inflammatory_stiffness_minutes:
        whys += ("long_stiffness",)
    if whys:
        return Finding("R5", whys, "refer", "this_week", "hold", phase_at_most=1)
    return None


def not_a_tendon_pattern(a: Answers) -> Finding | None:
    """R6. The clinician must see the runner before any programme."""
    flags = ("rest_or_night_pain", "weight_loss_or_lump", "tingling_or_numbness", "lumpy_tendons")
    whys = tuple(f for f in flags if f in a.red_flags)
    if whys:
        return Finding("R6", whys, "refer", "this_week", "hold", True)
    return None


def severe_pain(a: Answers) -> Finding | None:
    """R13. Severe pain with no red flag: a clinician this week, only calm-phase work meanwhile."""
    if a.pain_now >= T.severe_pain:
        return Finding("R13", ("severe",), "refer", "this_week", "stop", phase_at_most=1,
                       facts={"pain": a.pain_now})
    return None


def under_18(a: Answers) -> Finding | None:
    """R7. Growing heels need a clinician's eye; no adult heavy or plyometric plan."""
    if a.age < T.adult_age:
        return Finding("R7", ("age",), "refer", "this_week", "hold", True, facts={"age": a.age})
    return None


def not_improving(a: Answers) -> Finding | None:
    """R8. Routine referral; the loading goes on meanwhile."""
    if a.structured_loading_weeks >= T.weeks_of_loading_before_referral and a.trend != "better":
        return Finding("R8", ("stuck",), referral="routine", facts={"weeks": a.structured_loading_weeks})
    return None


# --- Self-care: how much, and how to load (R9-R12) -----------------------------------------


def is_running(a: Answers) -> bool:
    return a.warmup_pattern != "not_running" and a.pain_during_last_run is not None


def painful_run(a: Answers) -> bool:
    return is_running(a) and a.pain_during_last_run > T.acceptable_pain


def pain_monitoring(a: Answers) -> Finding:
    """R9. Pain during activity up to 5/10, settled by the next morning, mornings not worse.

    A run over 5/10 reduces running; it does not on its own change the phase.
    """
    whys: tuple[str, ...] = ()
    running = "hold"
    if is_running(a):
        pain = a.pain_during_last_run
        if pain > T.acceptable_pain:
            whys, running = ("too_much_pain",), "reduce"
        elif pain > T.safe_pain:
            whys, running = ("acceptable_pain",), "hold"
        else:
            whys, running = ("safe_pain",), "progress"
        if a.warmup_pattern in ("worsens_while_running", "constant"):
            whys += (a.warmup_pattern,)
            running = most_cautious(running, "reduce")
    else:
        whys = ("not_running",)
    if a.settled_next_morning is False:
        whys += ("not_settled",)
        running = most_cautious(running, "reduce")
    if a.mornings_trend == "worse":
        whys += ("mornings_worse",)
        running = most_cautious(running, "reduce")
    if a.morning_stiffness_minutes > T.long_stiffness_minutes:
        whys += ("long_stiffness",)
    if a.trend == "worse" and running == "progress":
        whys += ("trend_worse",)
        running = "hold"
    facts = {"pain": a.pain_during_last_run, "stiffness": a.morning_stiffness_minutes}
    return Finding("R9", whys, running_at_most=running, facts=facts)


def load_spike(a: Answers) -> Finding | None:
    """R12. Undo the change that came before the pain."""
    whys: tuple[str, ...] = ()
    mods = ["undo_load_spike"]
    if a.weekly_km_before > 0 and a.weekly_km > a.weekly_km_before * T.weekly_spike:
        whys += ("volume",)
    if "longer_long_run" in a.recent_changes:
        whys += ("longer_long_run",)
    for change in ("hills", "speed_work"):
        if change in a.recent_changes:
            whys += (change,)
            mods.append("no_hills_or_speed")
    if "lower_drop_shoes" in a.recent_changes:
        whys += ("lower_drop_shoes",)
        mods.append("higher_drop_or_heel_lift")
    if not whys:
        return None
    facts = {"km": a.weekly_km, "km_before": a.weekly_km_before}
    return Finding("R12", whys, running_at_most="reduce", modifications=tuple(dict.fromkeys(mods)),
                   facts=facts)


def insertional(a: Answers) -> Finding | None:
    """R11. Load on flat floor, never dropping the heel below level; the same plan when the
    runner is unsure where it hurts, until told otherwise."""
    if a.location == "insertional":
        mods = ("flat_floor_only", "higher_drop_or_heel_lift", "no_hills_or_speed")
        return Finding("R11", ("insertional",), modifications=mods)
    if a.location == "unsure":
        return Finding("R11", ("unsure",), modifications=("flat_floor_only",))
    return None


# --- R10: the phase -------------------------------------------------------------------------


def calm_signs(a: Answers) -> tuple[str, ...]:
    """The brief's phase 1 row: any of these means phase 1, whatever phase the runner was in."""
    return calm_signs_of(a.heel_raises.reps, a.heel_raises.pain, a.morning_stiffness_minutes,
                         a.warmup_pattern, a.pain_now)


def calm_signs_of(reps: int, raise_pain: int, stiffness: int | None = None, warmup: str | None = None,
                  pain_now: int | None = None) -> tuple[str, ...]:
    """The same signs from whatever is known so far (None: not asked yet)."""
    signs: tuple[str, ...] = ()
    if reps < T.raises_for_strength:
        signs += ("few_raises",)
    if raise_pain > T.acceptable_pain:
        signs += ("painful_raises",)
    if stiffness is not None and stiffness > T.long_stiffness_minutes:
        signs += ("long_stiffness",)
    if warmup == "constant" and pain_now is not None and pain_now > T.safe_pain:
        signs += ("pain_with_most_activity",)
    return signs


def hop_test_is_safe(age: int, reps: int, raise_pain: int, stiffness: int | None = None,
                     warmup: str | None = None, pain_now: int | None = None) -> bool:
    """The brief: no hop test when the runner cannot do single-leg heel raises, when the raises
    hurt more than 5/10, or under 18. Nor with calm-phase signs or severe pain: the result could
    change nothing, and the hops would load an irritable tendon."""
    if age < T.adult_age or (pain_now is not None and pain_now >= T.severe_pain):
        return False
    return not calm_signs_of(reps, raise_pain, stiffness, warmup, pain_now)


def not_yet_strength(a: Answers) -> tuple[str, ...]:
    """The phase 2 row also asks for running pain up to 5/10 and mornings that are stable."""
    signs: tuple[str, ...] = ()
    if painful_run(a):
        signs += ("too_much_pain",)
    if a.mornings_trend == "worse":
        signs += ("mornings_worse",)
    return signs


def hops_too_painful(a: Answers) -> bool:
    return a.hop_pain is not None and a.hop_pain > T.acceptable_pain


def passes_gate_into_strength(a: Answers) -> bool:
    return not calm_signs(a) and not not_yet_strength(a) and a.heel_raises.pain < T.gate_pain


def passes_gate_into_spring(a: Answers) -> bool:
    return (
        not calm_signs(a)
        and a.heel_raises.reps >= T.raises_for_spring
        and a.heel_raises.pain < T.gate_pain
        and a.hop_pain is not None
        and a.hop_pain < T.gate_pain
    )


def passes_gate_into_maintain(a: Answers) -> bool:
    running_well = (
        is_running(a)
        and a.pain_during_last_run < T.gate_pain
        and a.settled_next_morning is not False
        and a.weekly_km >= T.volume_for_full_running * a.weekly_km_before
    )
    return passes_gate_into_spring(a) and running_well


GATES = {1: passes_gate_into_strength, 2: passes_gate_into_spring, 3: passes_gate_into_maintain}


def phase_gates(a: Answers, highest: int = HIGHEST_PHASE) -> tuple[int, Finding]:
    """R10 (with R9's drop-back): the phase for today, moving up at most one phase at a time.

    A first assessment places the runner by capacity, never straight into phase 4: the intake
    cannot test maximal or multidirectional hops. At a reassessment today's signs cap the
    phase: calm signs mean phase 1 whatever the phase was, and a drop back never lands above
    that. `highest` is the cap a referral rule sets (R5, R13: calm phase until seen).
    """
    signs = calm_signs(a)
    current = a.current_phase
    if current is None:
        held_back = signs + not_yet_strength(a)
        if held_back:
            phase, whys = 1, ("calm", *held_back)
        elif passes_gate_into_spring(a):
            phase, whys = 3, ("start_spring",)
        else:
            phase, whys = 2, ("start_strength",)
    elif a.mornings_trend == "worse" and current > 1:
        phase, whys = current - 1, ("drop_back",)
    elif current < HIGHEST_PHASE and GATES[current](a):
        phase, whys = current + 1, ("move_up",)
    else:
        phase, whys = current, ("stay",)
    if signs and phase > 1:
        phase, whys = 1, ("calm", *signs)
    elif hops_too_painful(a) and phase > 2:
        phase, whys = 2, ("hops_too_painful",)
    if phase > highest:
        phase, whys = highest, ("gentle_until_seen",)
    whys += (f"next_gate_{phase}",) if phase < HIGHEST_PHASE else ()
    facts = {
        "phase": phase,
        "current": current,
        "reps": a.heel_raises.reps,
        "raise_pain": a.heel_raises.pain,
        "hop_pain": a.hop_pain,
    }
    return phase, Finding("R10", whys, facts=facts)


# --- Putting it together -------------------------------------------------------------------

REFERRAL_RULES = (inflammatory, not_a_tendon_pattern, severe_pain, under_18, not_improving)
LOADING_RULES = (load_spike, insertional)


def most_cautious(*levels: str) -> str:
    return min(levels, key=RUNNING_ORDER.index)


def assess(a: Answers) -> Assessment:
    """The whole assessment for one runner's answers."""
    urgent = assess_safety(SafetyFacts.of(a))
    if urgent is not None:
        return urgent

    findings = [f for rule in REFERRAL_RULES if (f := rule(a))]
    findings.append(pain_monitoring(a))
    findings += [f for rule in LOADING_RULES if (f := rule(a))]

    if any(f.ends_programme for f in findings):
        phase = None  # a clinician first: no placement, no targets
    else:
        phase, gates = phase_gates(a, highest=min(f.phase_at_most for f in findings))
        findings.append(gates)
    running = most_cautious(*(f.running_at_most for f in findings))
    if phase == 1 and is_running(a):
        # Calm-phase running: stop while a run hurts more than 5/10, else cut back, flat and easy.
        running = most_cautious(running, "stop" if painful_run(a) else "reduce")
    return _assessment(findings, phase=phase, running=running)


def _assessment(findings: list[Finding], *, phase: int | None, running: str) -> Assessment:
    triage = max((f.triage for f in findings), key=TRIAGE_ORDER.index)
    referral = max((f.referral for f in findings), key=REFERRAL_ORDER.index)
    modifications = list(dict.fromkeys(m for f in findings for m in f.modifications))
    programme = phase is not None
    reasons = [Reason(rule=f.rule, whys=list(f.whys), facts={**f.facts, "programme": programme})
               for f in findings]
    return Assessment(
        triage=triage,
        referral=referral,
        phase=phase,
        running=running,
        modifications=modifications,
        reasons=reasons,
    )
