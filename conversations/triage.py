"""The triage engine: the rules R1-R12 of the clinical brief, applied to one runner's answers.

Each rule is a short function named after what it checks. It returns a `Finding` (what fired
and why) or None. `assess` runs them in order of weight, safety first: any R1-R4 finding ends
the self-care path at once. The plain-language reasons come from `templates/reasons/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conversations.answers import Answers, Assessment, Reason
from conversations.messages import render_text

TRIAGE_ORDER = ("self_care", "refer", "urgent", "emergency")
REFERRAL_ORDER = ("none", "routine", "this_week", "today", "emergency")
RUNNING_ORDER = ("stop", "reduce", "hold", "progress")  # most cautious first

SAFE_PAIN = 2  # 0-2 during activity: safe
ACCEPTABLE_PAIN = 5  # 3-5 acceptable, more is too much
GATE_PAIN = 3  # phase gates need pain under 3/10
LONG_STIFFNESS_MINUTES = 30
INFLAMMATORY_STIFFNESS_MINUTES = 60
MIN_RAISES_FOR_STRENGTH = 10
RAISES_FOR_SPRING = 20
VOLUME_FOR_FULL_RUNNING = 0.8
WEEKLY_SPIKE = 1.3
WEEKS_OF_LOADING_BEFORE_REFERRAL = 12


@dataclass(frozen=True)
class Finding:
    rule: str
    whys: tuple[str, ...]
    triage: str = "self_care"
    referral: str = "none"
    running_at_most: str = "progress"
    ends_programme: bool = False
    modifications: tuple[str, ...] = ()
    facts: dict = field(default_factory=dict)


# --- Safety first: any of these ends the self-care path (R1-R4) ---------------------------
# These read only the red flags, so the safety screen can apply them before anything else.


def clot(flags: set[str]) -> Finding | None:
    """R2. Breathlessness or chest pain is an emergency whether or not the calf is swollen."""
    if "breathless_or_chest_pain" in flags:
        return Finding("R2", ("breathless",), "emergency", "emergency", "stop", True)
    if "calf_swelling_warmth_redness" in flags:
        return Finding("R2", ("calf",), "urgent", "today", "stop", True)
    return None


def rupture(flags: set[str]) -> Finding | None:
    """R1. Low pain does not rule a rupture out, so pain is never consulted here."""
    whys = tuple(f for f in ("pop_or_kick", "cannot_heel_raise", "gap_in_tendon") if f in flags)
    if whys:
        return Finding("R1", whys, "urgent", "today", "stop", True)
    return None


def antibiotic(flags: set[str]) -> Finding | None:
    """R3."""
    if "fluoroquinolone" in flags:
        return Finding("R3", ("fluoroquinolone",), "urgent", "today", "stop", True)
    return None


def infection(flags: set[str]) -> Finding | None:
    """R4."""
    if "fever_or_hot_heel" in flags:
        return Finding("R4", ("fever_or_hot_heel",), "urgent", "today", "stop", True)
    return None


SAFETY_RULES = (clot, rupture, antibiotic, infection)


def safety_flags(a: Answers) -> set[str]:
    """The red flags, plus a sudden onset with no heel raise possible, which is R1 as well."""
    flags = set(a.red_flags)
    if a.onset == "sudden" and a.heel_raises.reps == 0:
        flags.add("cannot_heel_raise")
    return flags


def assess_safety_screen(flags: list[str] | set[str]) -> Assessment | None:
    """The safety screen alone: an urgent assessment if any R1-R4 flag is present, else None."""
    findings = [f for rule in SAFETY_RULES if (f := rule(set(flags)))]
    return _assessment(findings, phase=None, running="stop") if findings else None


# --- A clinician should see the runner (R5-R8) ----------------------------------------------


def inflammatory(a: Answers) -> Finding | None:
    """R5. A gentle programme may go on while the runner waits for the appointment."""
    whys = ()
    if "inflammatory_signs" in a.red_flags:
        whys += ("signs",)
    if a.morning_stiffness_minutes > INFLAMMATORY_STIFFNESS_MINUTES:
        whys += ("long_stiffness",)
    if whys:
        return Finding("R5", whys, "refer", "this_week", "hold")
    return None


def not_a_tendon_pattern(a: Answers) -> Finding | None:
    """R6. The clinician must see the runner before any programme."""
    flags = ("rest_or_night_pain", "weight_loss_or_lump", "tingling_or_numbness", "lumpy_tendons")
    whys = tuple(f for f in flags if f in a.red_flags)
    if whys:
        return Finding("R6", whys, "refer", "this_week", "hold", True)
    return None


def under_18(a: Answers) -> Finding | None:
    """R7. Growing heels need a clinician's eye; no adult heavy or plyometric plan."""
    if a.age < 18:
        return Finding("R7", ("age",), "refer", "this_week", "hold", True, facts={"age": a.age})
    return None


def not_improving(a: Answers) -> Finding | None:
    """R8. Routine referral; the loading goes on meanwhile."""
    if a.structured_loading_weeks >= WEEKS_OF_LOADING_BEFORE_REFERRAL and a.trend != "better":
        return Finding("R8", ("stuck",), referral="routine",
                       facts={"weeks": a.structured_loading_weeks})
    return None


# --- Self-care: how much, and how to load (R9-R12) -----------------------------------------


def is_running(a: Answers) -> bool:
    return a.warmup_pattern != "not_running" and a.pain_during_last_run is not None


def pain_monitoring(a: Answers) -> Finding:
    """R9. Pain during activity up to 5/10, settled by the next morning, mornings not worse."""
    whys: tuple[str, ...] = ()
    running = "hold"
    if is_running(a):
        pain = a.pain_during_last_run
        if pain > ACCEPTABLE_PAIN:
            whys, running = ("too_much_pain",), "stop"
        elif pain > SAFE_PAIN:
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
    if a.morning_stiffness_minutes > LONG_STIFFNESS_MINUTES:
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
    if a.weekly_km_before > 0 and a.weekly_km > a.weekly_km_before * WEEKLY_SPIKE:
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
    """R11. Load on flat floor, never dropping the heel below level."""
    if a.location != "insertional":
        return None
    mods = ("flat_floor_only", "higher_drop_or_heel_lift", "no_hills_or_speed")
    return Finding("R11", ("insertional",), modifications=mods)


def calm_signs(a: Answers) -> tuple[str, ...]:
    """What puts a runner in phase 1 (Calm), from the brief's phase table."""
    signs: tuple[str, ...] = ()
    if a.heel_raises.reps < MIN_RAISES_FOR_STRENGTH:
        signs += ("few_raises",)
    if a.heel_raises.pain > ACCEPTABLE_PAIN:
        signs += ("painful_raises",)
    if is_running(a) and a.pain_during_last_run > ACCEPTABLE_PAIN:
        signs += ("too_much_pain",)
    if a.morning_stiffness_minutes > LONG_STIFFNESS_MINUTES:
        signs += ("long_stiffness",)
    if a.mornings_trend == "worse":
        signs += ("mornings_worse",)
    if a.warmup_pattern == "constant" and a.pain_now > SAFE_PAIN:
        signs += ("pain_with_most_activity",)
    return signs


def passes_gate_into_strength(a: Answers) -> bool:
    return not calm_signs(a) and a.heel_raises.pain < GATE_PAIN


def passes_gate_into_spring(a: Answers) -> bool:
    return (
        not calm_signs(a)
        and a.heel_raises.reps >= RAISES_FOR_SPRING
        and a.heel_raises.pain < GATE_PAIN
        and a.hop_pain is not None
        and a.hop_pain < GATE_PAIN
    )


def passes_gate_into_maintain(a: Answers) -> bool:
    running_well = (
        is_running(a)
        and a.pain_during_last_run < GATE_PAIN
        and a.settled_next_morning is not False
        and a.weekly_km >= VOLUME_FOR_FULL_RUNNING * a.weekly_km_before
    )
    return passes_gate_into_spring(a) and running_well


GATES = {1: passes_gate_into_strength, 2: passes_gate_into_spring, 3: passes_gate_into_maintain}


def phase_gates(a: Answers) -> tuple[int, Finding]:
    """R10 (with R9's drop-back): the phase for today, moving at most one phase at a time.

    A first assessment places the runner by capacity, never straight into phase 4: the intake
    cannot test maximal or multidirectional hops.
    """
    signs = calm_signs(a)
    current = a.current_phase
    if current is None:
        if signs:
            phase, whys = 1, ("calm", *signs)
        elif passes_gate_into_spring(a):
            phase, whys = 3, ("start_spring",)
        else:
            phase, whys = 2, ("start_strength",)
    elif a.mornings_trend == "worse" and current > 1:
        phase, whys = current - 1, ("drop_back", *signs)
    elif current < 4 and GATES[current](a):
        phase, whys = current + 1, ("move_up",)
    else:
        phase, whys = current, ("stay",)
    if signs and phase > 1 and current is not None and "drop_back" not in whys:
        phase, whys = 1, ("calm", *signs)
    whys += (f"next_gate_{phase}",) if phase < 4 else ()
    facts = {
        "phase": phase,
        "current": current,
        "reps": a.heel_raises.reps,
        "raise_pain": a.heel_raises.pain,
        "hop_pain": a.hop_pain,
    }
    return phase, Finding("R10", whys, facts=facts)


# --- Putting it together -------------------------------------------------------------------

REFERRAL_RULES = (inflammatory, not_a_tendon_pattern, under_18, not_improving)
LOADING_RULES = (load_spike, insertional)


def most_cautious(*levels: str) -> str:
    return min(levels, key=RUNNING_ORDER.index)


def assess(a: Answers) -> Assessment:
    """The whole assessment for one runner's answers."""
    urgent = assess_safety_screen(safety_flags(a))
    if urgent is not None:
        return urgent

    phase, gates = phase_gates(a)
    findings = [f for rule in REFERRAL_RULES if (f := rule(a))]
    findings.append(pain_monitoring(a))
    findings += [f for rule in LOADING_RULES if (f := rule(a))]
    findings.append(gates)

    if any(f.ends_programme for f in findings):
        phase = None
    elif any(f.rule == "R5" for f in findings):
        phase = 1  # gentle programme only, until a clinician has seen them
    running = most_cautious(*(f.running_at_most for f in findings))
    if phase == 1 and is_running(a):
        running = most_cautious(running, "reduce")  # phase 1 running: cut back, flat and easy
    return _assessment(findings, phase=phase, running=running)


def _assessment(findings: list[Finding], *, phase: int | None, running: str) -> Assessment:
    triage = max((f.triage for f in findings), key=TRIAGE_ORDER.index)
    referral = max((f.referral for f in findings), key=REFERRAL_ORDER.index)
    modifications = list(dict.fromkeys(m for f in findings for m in f.modifications))
    reasons = [Reason(rule=f.rule, text=reason_text(f)) for f in findings]
    return Assessment(
        triage=triage,
        referral=referral,
        phase=phase,
        running=running,
        modifications=modifications,
        reasons=reasons,
    )


def reason_text(finding: Finding) -> str:
    return render_text(f"reasons/{finding.rule}.j2", whys=finding.whys, **finding.facts)
